"""frame_executive over the runtime's pallets: validate, apply, initialize and finalize.

The order of checks and storage effects is frame's: signature check (with the
era's birth block hash and the genesis hash in the signed payload), then the
transaction extensions (non-zero sender, mortality, nonce, weight, payment),
the dispatch in its own storage layer, fee correction, ``TransactionFeePaid``
and ``ExtrinsicSuccess``/``ExtrinsicFailed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from decentralml.primitives.hashing import blake2_256
from decentralml.primitives.scale import U64_MAX, CodecError, compact, u32, u64, u128

from . import balances, keys, validity
from .balances import Preservation
from .calls import Call, Origin, dispatch
from .context import PHASE_FINALIZATION, Context
from .extrinsic import Extrinsic, decode_extrinsic, signed_payload
from .trie import ordered_trie_root
from .types import DispatchClass, DispatchFailure, DispatchInfo, Weight
from .validity import InvalidTransaction, ValidTransaction, invalid

if TYPE_CHECKING:
    from . import Runtime

FIXED_ONE = 10**18
# A node's block builder makes inherents with `new_bare`: extrinsic format v5, byte 0x05
# (sp-runtime's EXTRINSIC_FORMAT_VERSION); clients still submit v4 (0x04 / 0x84).
INHERENT_VERSION = b"\x05"


@dataclass(frozen=True, slots=True)
class Checked:
    xt: Extrinsic
    call: Call
    info: DispatchInfo


def check(rt: Runtime, ctx: Context, raw: bytes) -> Checked:
    """Decode ``raw`` and verify its signature (``Checkable::check``)."""
    try:
        xt = decode_extrinsic(raw)
        call = rt.codec.decode(xt.call)
    except CodecError as exc:
        raise validity.undecodable(str(exc)) from None
    if xt.signer is None:
        return Checked(xt, call, rt.codec.info(call))
    if xt.unresolvable:
        raise validity.cannot_lookup()
    genesis = ctx.overlay.get(keys.block_hash(0))
    birth = xt.era.birth(ctx.number)
    era_hash = ctx.overlay.get(keys.block_hash(birth))
    if era_hash is None:
        raise invalid(validity.ANCIENT_BIRTH_BLOCK)
    assert genesis is not None
    payload = signed_payload(xt.call, xt.extra, rt.spec_version, rt.transaction_version, genesis, era_hash)
    if not rt.verified(xt.scheme, xt.signature, payload, xt.signer):
        raise invalid(validity.BAD_PROOF)
    if not rt.codec.all_supported(call):
        raise invalid(validity.CALL)
    return Checked(xt, call, rt.codec.info(call))


def compute_fee(ctx: Context, rt: Runtime, length: int, info: DispatchInfo, tip: int, pays: bool = True) -> int:
    """pallet_transaction_payment ``compute_fee``: base + length + multiplier·weight + tip."""
    if not pays or not info.pays_fee:
        return tip
    return inclusion_fee(ctx, rt, length, info)[3] + tip


def inclusion_fee(ctx: Context, rt: Runtime, length: int, info: DispatchInfo) -> tuple[int, int, int, int]:
    """(base_fee, len_fee, adjusted_weight_fee, sum) with IdentityFee and ConstantMultiplier."""
    base_fee = rt.base_extrinsic.ref_time
    len_fee = length * rt.transaction_byte_fee
    raw = ctx.overlay.get(keys.PAYMENT_NEXT_FEE_MULTIPLIER)
    multiplier = int.from_bytes(raw, "little") if raw else FIXED_ONE
    adjusted = info.weight.ref_time * multiplier // FIXED_ONE
    return base_fee, len_fee, adjusted, base_fee + len_fee + adjusted


def priority(rt: Runtime, info: DispatchInfo, length: int, tip: int, fee: int) -> int:
    """ChargeTransactionPayment's priority: (tip + 1) × max transactions of this size per block,
    plus for Operational calls a virtual tip of fee × OperationalFeeMultiplier scaled the same way."""
    max_ref, max_proof = rt.max_block.ref_time, rt.max_block.proof_size
    ref = min(max(info.weight.ref_time, 1), max_ref)
    proof = min(max(info.weight.proof_size, 1), max_proof)
    per_weight = min(max_ref // ref, max_proof // proof)
    max_len = rt.max_length[int(info.dispatch_class)]
    per_length = max_len // min(max(length, 1), max_len)
    max_tx = min(per_weight, per_length)
    scaled = (tip + 1) * max_tx
    if info.dispatch_class == DispatchClass.OPERATIONAL:
        scaled += fee * rt.operational_fee_multiplier * max_tx
    return min(scaled, U64_MAX)


def validate_signed(
    rt: Runtime, ctx: Context, c: Checked, *, apply: bool, allow_future: bool = False
) -> tuple[int, ValidTransaction]:
    """The transaction extensions' ``validate`` (and, when ``apply``, ``prepare``).

    Returns the fee to withdraw and the validity. Raises InvalidTransaction.
    """
    xt, info = c.xt, c.info
    who = xt.signer
    assert who is not None
    if info.dispatch_class == DispatchClass.MANDATORY:
        raise invalid(validity.MANDATORY_VALIDATION)
    if who == bytes(32):  # CheckNonZeroSender
        raise invalid(validity.BAD_SIGNER)
    current = ctx.number
    longevity = max(xt.era.death(current) - current, 0) if not xt.era.immortal else U64_MAX - current
    account = ctx.account(who)  # CheckNonce
    if account.providers == 0 and account.sufficients == 0:
        raise invalid(validity.PAYMENT)
    if xt.nonce < account.nonce:
        raise invalid(validity.STALE)
    requires: tuple[bytes, ...] = ()
    future = xt.nonce > account.nonce
    if future:
        if not apply and not allow_future:
            raise invalid(validity.FUTURE)
        requires = (who + u32(xt.nonce - 1),)
    # CheckWeight: the extrinsic's weight with its length as proof size, and the block
    # length it would bring (an empty block's header overhead included).
    cls = int(info.dispatch_class)
    max_ext = rt.max_extrinsic[cls]
    if max_ext is not None and (
        info.weight.ref_time > max_ext.ref_time or info.weight.proof_size + xt.length > max_ext.proof_size
    ):
        raise invalid(validity.EXHAUSTS_RESOURCES)
    if block_overhead(ctx.number) + xt.length > rt.max_length[cls]:
        raise invalid(validity.EXHAUSTS_RESOURCES)
    fee = compute_fee(ctx, rt, xt.length, info, xt.tip)  # ChargeTransactionPayment
    if fee and not balances.can_withdraw_fee(ctx, who, fee):
        raise invalid(validity.PAYMENT)
    if future and apply:  # CheckNonce::prepare runs after every extension's validate
        raise invalid(validity.FUTURE)
    valid = ValidTransaction(
        sender=who,
        nonce=xt.nonce,
        priority=priority(rt, info, xt.length, xt.tip, fee),
        longevity=longevity,
        provides=(who + u32(xt.nonce),),
        requires=requires,
        hash=blake2_256(xt.encoded),
        fee=fee,
    )
    return fee, valid


def block_overhead(number: int) -> int:
    """``System.BlockSize`` at initialization: digest size + empty header size (empty digest)."""
    return 1 + 32 + len(compact(number)) + 32 + 32 + 1


class BlockBuilder:
    """Applies extrinsics to a block in progress (``Executive``'s block-building half)."""

    def __init__(self, rt: Runtime, ctx: Context, parent_hash: bytes) -> None:
        self.rt = rt
        self.ctx = ctx
        self.parent_hash = parent_hash
        self.extrinsics: list[bytes] = []
        self.weight = [Weight(), Weight(), Weight()]  # normal, operational, mandatory
        self.length = 0

    # -- initialize --------------------------------------------------------------------
    def initialize(self) -> None:
        ov, n = self.ctx.overlay, self.ctx.number
        ov.kill(keys.SYSTEM_EVENTS)
        ov.kill(keys.SYSTEM_EVENT_COUNT)
        ov.set(keys.SYSTEM_NUMBER, u32(n))
        ov.set(keys.SYSTEM_DIGEST, b"\x00")
        ov.set(keys.SYSTEM_PARENT_HASH, self.parent_hash)
        ov.set(keys.block_hash(n - 1), self.parent_hash)
        # base block + on_initialize of Timestamp (its on_finalize weight)
        self.weight[2] = self.rt.base_block + Weight(self.rt.timestamp_on_finalize)
        self.length = block_overhead(n)

    def _accrue(self, info: DispatchInfo, length: int) -> None:
        cls = int(info.dispatch_class)
        total = info.weight + self.rt.base_extrinsic + Weight(0, length)
        new = self.weight[cls] + total
        limit = self.rt.max_total[cls]
        if limit is not None and (new.ref_time > limit.ref_time or new.proof_size > limit.proof_size):
            raise invalid(validity.EXHAUSTS_RESOURCES)
        if self.length + length > self.rt.max_length[cls]:
            raise invalid(validity.EXHAUSTS_RESOURCES)
        self.weight[cls] = new
        self.length += length

    # -- inherents -----------------------------------------------------------------------
    def apply_timestamp(self, timestamp_ms: int) -> int:
        """Apply ``Timestamp.set`` as extrinsic 0; returns the moment actually set.

        ``MinimumPeriod`` is enforced the way manual-seal nodes do it: a moment
        closer than that to the previous block's is moved forward.
        """
        ov = self.ctx.overlay
        raw = ov.get(keys.TIMESTAMP_NOW)
        prev = int.from_bytes(raw, "little") if raw else 0
        now = timestamp_ms if prev == 0 else max(timestamp_ms, prev + self.rt.minimum_period)
        call = self.rt.index.call_index("Timestamp", "set") + compact(now)
        body = INHERENT_VERSION + call
        xt = compact(len(body)) + body
        info = DispatchInfo(Weight(self.rt.timestamp_set), DispatchClass.MANDATORY)
        self.ctx.set_phase_apply(0)
        self._accrue(info, len(xt))
        ov.set(keys.TIMESTAMP_NOW, u64(now))
        self._note_applied(info, info.weight, True, None)
        self.extrinsics.append(xt)
        return now

    # -- extrinsics --------------------------------------------------------------------
    def apply(self, raw: bytes) -> None:
        """Apply one extrinsic; raises InvalidTransaction (nothing written) if it cannot be included."""
        ctx, rt = self.ctx, self.rt
        ctx.set_phase_apply(len(self.extrinsics))
        saved_weight, saved_len = list(self.weight), self.length
        depth = ctx.depth
        ctx.begin()
        try:
            c = check(rt, ctx, raw)
            if c.xt.signer is None:
                if c.call.pallet == "Timestamp":
                    raise invalid(validity.MANDATORY_VALIDATION)
                raise validity.no_unsigned_validator()
            self._apply_signed(c)
        except InvalidTransaction:
            ctx.rollback()
            self.weight, self.length = saved_weight, saved_len
            raise
        except Exception as exc:  # a runtime bug: this extrinsic is dropped, the block goes on
            ctx.rollback_to(depth)
            self.weight, self.length = saved_weight, saved_len
            raise validity.runtime_panicked(exc) from exc
        ctx.commit()
        self.extrinsics.append(raw)

    def _apply_signed(self, c: Checked) -> None:
        ctx, rt, xt, info = self.ctx, self.rt, c.xt, c.info
        who = xt.signer
        assert who is not None
        fee, _valid = validate_signed(rt, ctx, c, apply=True)
        self._accrue(info, xt.length)  # CheckWeight::prepare
        ctx.inc_nonce(who)  # CheckNonce::prepare
        if fee:  # ChargeTransactionPayment::prepare
            try:
                balances.withdraw(ctx, who, fee, Preservation.PRESERVE)
            except DispatchFailure:
                raise invalid(validity.PAYMENT) from None
        ctx.begin()
        error: bytes | None = None
        try:
            pays = dispatch(ctx, rt.codec, Origin(who=who), c.call)
        except DispatchFailure as failure:
            ctx.rollback()
            error = failure.encoded
            pays = True
        else:
            ctx.commit()
        actual_fee = compute_fee(ctx, rt, xt.length, info, xt.tip, pays)
        refund = fee - actual_fee
        if refund > 0 and ctx.overlay.get(keys.account(who)) is not None:  # no refund to a reaped account
            refund = balances.deposit(ctx, who, refund)
        balances.burn(ctx, fee - max(refund, 0))
        ctx.deposit_event("TransactionPayment", "TransactionFeePaid", who + u128(actual_fee) + u128(xt.tip))
        self._note_applied(info, info.weight, pays and info.pays_fee, error)

    def _note_applied(self, info: DispatchInfo, actual: Weight, pays: bool, error: bytes | None) -> None:
        weight = actual.min(info.weight) + self.rt.base_extrinsic
        event_info = weight.encode() + bytes((int(info.dispatch_class), 0 if pays else 1))
        if error is None:
            self.ctx.deposit_event("System", "ExtrinsicSuccess", event_info)
        else:
            self.ctx.deposit_event("System", "ExtrinsicFailed", error + event_info)

    # -- finalize ----------------------------------------------------------------------
    def finalize(self) -> tuple[bytes, bytes]:
        """Write the block's final storage; returns (extrinsics_root, digest)."""
        ctx, rt = self.ctx, self.rt
        ov, n = ctx.overlay, ctx.number
        ctx.phase = PHASE_FINALIZATION
        ov.kill(keys.EXTRINSIC_INDEX)
        ov.set(keys.PAYMENT_NEXT_FEE_MULTIPLIER, u128(FIXED_ONE))  # ConstFeeMultiplier
        ov.set(keys.SYSTEM_BLOCK_WEIGHT, b"".join(w.encode() for w in self.weight))
        to_remove = n - rt.block_hash_count - 1
        if to_remove > 0:
            ov.kill(keys.block_hash(to_remove))
        ov.set(keys.SYSTEM_EVENT_COUNT, u32(len(ctx.events)))
        ov.set(keys.SYSTEM_EVENTS, ctx.encoded_events())
        return ordered_trie_root(self.extrinsics, rt.extrinsics_root_version), b"\x00"


def encode_header(parent_hash: bytes, number: int, state_root: bytes, extrinsics_root: bytes, digest: bytes) -> bytes:
    return parent_hash + compact(number) + state_root + extrinsics_root + digest
