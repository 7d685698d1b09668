"""The pure DecentralML runtime: a state machine over raw storage bytes.

No sockets and no files (the packaged metadata is read through
``importlib.resources``). The node wraps it with block production, a pool,
JSON-RPC and persistence. The interface below is stable:

``StateView``
    ``get(key) -> bytes | None`` and ``next_key(key) -> bytes | None`` (the
    smallest key strictly greater than ``key``) over one block's storage.

``Runtime()``
    ``metadata_v14`` / ``metadata_v15``: raw metadata (``b"meta" ‖ version ‖ ...``),
    what ``state_getMetadata`` returns (V14 only there).

    ``runtime_version()`` -> the ``state_getRuntimeVersion`` JSON.
    ``properties()`` -> the ``system_properties`` JSON.
    ``genesis()`` -> ``(storage, header_scale, genesis_hash)``.

    ``validate_transaction(state, xt, parent_hash=None, *, allow_future=False)``
    -> ``ValidTransaction`` or raises ``InvalidTransaction``. ``xt`` is the
    full encoded extrinsic (length prefix included). ``state`` is the best
    block's storage and ``parent_hash`` that block's hash (a mortal era born at
    the best block needs it, as in frame_system's validation; when omitted,
    the hash of the block this runtime built at that height is used).
    A future nonce is valid with ``requires`` naming the previous nonce's tag,
    as a real pool sees it; with ``allow_future=False`` it raises
    "Transaction will be valid in the future" instead.

    ``build_block(state, parent_hash, number, timestamp_ms, extrinsics)``
    -> ``BlockResult``: the timestamp inherent as extrinsic 0 (moved forward to
    ``Timestamp.Now + MinimumPeriod`` if needed, like manual seal), then each
    extrinsic re-validated and applied; those no longer valid are left out and
    listed in ``rejected``. ``changes`` are the block's net storage writes
    (None = deleted); ``header`` is SCALE, ``hash`` its blake2-256.

    ``state_call(state, method, data)`` -> SCALE bytes of the runtime API
    result; raises ``RuntimeApiError`` for an unknown method or bad input.
    Served: Core_version, Metadata_metadata / _metadata_versions /
    _metadata_at_version, AccountNonceApi_account_nonce,
    TransactionPaymentApi_query_info / _query_fee_details / _query_weight_to_fee /
    _query_length_to_fee (no signature check), the same four of
    TransactionPaymentCallApi, TaggedTransactionQueue_validate_transaction,
    SessionKeys_generate_session_keys / _decode_session_keys (no keys),
    GenesisBuilder_preset_names.

    Extensions (beyond the runtime interface above):
    ``dispatch(state, origin, call, block_number, timestamp_ms)`` dispatches a
    call directly as the pallet-spec dispatch vectors do; ``state_root(state)``
    scans a whole state into its trie root; ``BlockResult.timestamp_ms`` (the
    moment actually set) and ``BlockResult.events`` (raw ``System.Events``).
    ``build_block`` keeps each built block's trie in memory by block hash, so
    the next block's state root costs only its changes; it assumes ``state``
    is the state of ``parent_hash`` (on a miss it scans ``state``).

Implemented calls: System remark, remark_with_event, set_storage, kill_storage,
kill_prefix; Timestamp set (inherent); Balances transfer_allow_death,
transfer_keep_alive, force_transfer, transfer_all, burn, force_set_balance,
upgrade_accounts; Sudo sudo, sudo_unchecked_weight, sudo_as, set_key,
remove_key; all seven DecentralMLModule calls. The root-only calls it does not
implement (System set_code*, set_heap_pages, authorize_upgrade*, Balances
force_unreserve, force_adjust_total_issuance) fail with BadOrigin for a signed
caller, as on a real node, and are refused with "Transaction call is not
expected" under sudo (as is System.apply_authorized_upgrade).
``testkit`` builds and signs extrinsics (``Builder``), runs an in-memory chain
(``Chain``) and decodes events with scalecodec (``EventDecoder``).

``InvalidTransaction(code, message, data)``: the JSON-RPC error a real node
sends (1010 Invalid Transaction, 1011 Unknown Transaction Validity, 1012
temporarily banned — raised by the pool, see ``validity.temporarily_banned`` —
and 1002 for bytes that are not an extrinsic).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from importlib import resources

from decentralml.primitives.hashing import blake2_256
from decentralml.primitives.scale import Reader
from decentralml.primitives.signatures import verify

from . import keys
from .artifacts import Artifacts
from .calls import CallCodec
from .context import Context
from .decentralml import Limits
from .executive import BlockBuilder, encode_header
from .metadata import parse_metadata_v14
from .runtime_index import RuntimeIndex
from .state import DictState, StateView
from .trie import EMPTY_ROOT, Trie
from .types import Weight
from .validity import InvalidTransaction, ValidTransaction

__all__ = [
    "BlockResult",
    "DictState",
    "InvalidTransaction",
    "Runtime",
    "RuntimeApiError",
    "StateView",
    "ValidTransaction",
]

METADATA_PACKAGE = "decentralml.devnode.metadata"


class RuntimeApiError(Exception):
    """A ``state_call`` the runtime cannot answer (unknown method or undecodable input).

    ``message`` reads like the part of a real node's error after
    "Client error: Execution failed: " (JSON-RPC code 4003).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class BlockResult:
    """A built block: SCALE header and its blake2-256 hash, the included extrinsics
    (timestamp inherent first), the net storage changes (None = deleted), the
    extrinsics left out with the reason, the moment set and the raw System.Events."""

    header: bytes
    hash: bytes
    extrinsics: list[bytes]
    changes: dict[bytes, bytes | None]
    rejected: list[tuple[bytes, InvalidTransaction]] = field(default_factory=list)
    timestamp_ms: int = 0
    events: bytes = b""


@dataclass(frozen=True)
class DispatchOutcome:
    """Result of :meth:`Runtime.dispatch`: the encoded ``DispatchError`` (None on success)."""

    error: bytes | None
    changes: dict[bytes, bytes | None]
    events: bytes
    weight: Weight


def _read_resource(name: str) -> bytes:
    return resources.files(METADATA_PACKAGE).joinpath(name).read_bytes()


def _weight(r: Reader) -> Weight:
    return Weight(r.compact_u64(), r.compact_u64())


def _opt_weight(r: Reader) -> Weight | None:
    return _weight(r) if r.option_flag() else None


class Runtime:
    """The runtime; one instance serves any number of blocks (it keeps no chain state)."""

    def __init__(self, *, artifacts: Artifacts | None = None) -> None:
        art = artifacts if artifacts is not None else Artifacts.load(_read_resource)
        self.metadata_v14: bytes = art.metadata_v14
        self.metadata_v15: bytes = art.metadata_v15
        self._version_json: dict = art.runtime_version
        self._genesis_storage: dict[bytes, bytes] = art.genesis_storage
        self._genesis_accounts: list[dict] = art.genesis_accounts
        self._sudo_key: str | None = art.sudo_key
        md = parse_metadata_v14(self.metadata_v14)
        self.index = RuntimeIndex(md)
        idx = self.index
        self.existential_deposit = int.from_bytes(idx.constant("Balances", "ExistentialDeposit"), "little")
        self.block_hash_count = int.from_bytes(idx.constant("System", "BlockHashCount"), "little")
        self.minimum_period = int.from_bytes(idx.constant("Timestamp", "MinimumPeriod"), "little")
        self.operational_fee_multiplier = idx.constant("TransactionPayment", "OperationalFeeMultiplier")[0]
        self.version_scale = idx.constant("System", "Version")
        vr = Reader(self.version_scale)
        vr.vec_u8()
        vr.vec_u8()
        vr.u32()
        self.spec_version = vr.u32()
        vr.u32()
        for _ in range(vr.compact()):
            vr.take(12)
        self.transaction_version = vr.u32()
        system_version = vr.u8()
        # sp_version: system_version 0 → state V0; 1 → state V1, extrinsics root V0; 2 → both V1.
        self.state_version = 0 if system_version == 0 else 1
        self.extrinsics_root_version = 0 if system_version <= 1 else 1
        bw = Reader(idx.constant("System", "BlockWeights"))
        self.base_block = _weight(bw)
        self.max_block = _weight(bw)
        self.max_extrinsic: list[Weight | None] = []
        self.max_total: list[Weight | None] = []
        base_extrinsic = []
        for _ in range(3):
            base_extrinsic.append(_weight(bw))
            self.max_extrinsic.append(_opt_weight(bw))
            self.max_total.append(_opt_weight(bw))
            _opt_weight(bw)
        self.base_extrinsic = base_extrinsic[0]
        bl = Reader(idx.constant("System", "BlockLength"))
        self.max_length = [bl.u32(), bl.u32(), bl.u32()]
        self.transaction_byte_fee = art.transaction_byte_fee
        self.timestamp_set = art.timestamp_set_weight
        self.timestamp_on_finalize = art.timestamp_on_finalize_weight
        dml = "DecentralMLModule"

        def const_u(name: str) -> int:
            return int.from_bytes(idx.constant(dml, name), "little")

        self.limits = Limits(
            const_u("MaxQuestionLen"), const_u("MaxUriLen"), const_u("MaxInlineResultLen"),
            const_u("MaxAssignmentsPerTask"), const_u("MinReward"),
        )  # fmt: skip
        self.codec = CallCodec(idx, self.limits)
        self._tries: OrderedDict[bytes, Trie] = OrderedDict()
        self._built: OrderedDict[int, tuple[bytes, bytes]] = OrderedDict()
        self._verified: OrderedDict[tuple[int, bytes, bytes, bytes], None] = OrderedDict()
        self._genesis: tuple[dict[bytes, bytes], bytes, bytes] | None = None

    # -- chain constants ---------------------------------------------------------------
    def runtime_version(self) -> dict:
        return json.loads(json.dumps(self._version_json))

    def preset_json(self, *, development: bool) -> bytes:
        """A genesis config as GenesisBuilder serves it (serde JSON): ``development`` or the default."""
        accounts = self._genesis_accounts if development else []
        ss58 = {a["account_id"]: a["ss58"] for a in accounts}
        preset = {
            "system": {},
            "balances": {"balances": [[a["ss58"], int(a["free"])] for a in accounts], "devAccounts": None},
            "transactionPayment": {"multiplier": str(10**18)},
            "sudo": {"key": ss58.get(self._sudo_key) if development else None},
        }
        return json.dumps(preset, separators=(",", ":")).encode()

    def properties(self) -> dict:
        return {"ss58Format": 42, "tokenDecimals": 12, "tokenSymbol": "UNIT"}

    def genesis(self) -> tuple[dict[bytes, bytes], bytes, bytes]:
        if self._genesis is None:
            storage = dict(self._genesis_storage)
            trie = Trie.from_items(storage.items(), self.state_version)
            header = encode_header(bytes(32), 0, trie.root(), EMPTY_ROOT, b"\x00")
            genesis_hash = blake2_256(header)
            self._remember(genesis_hash, trie)
            self._genesis = (storage, header, genesis_hash)
        storage, header, genesis_hash = self._genesis
        return dict(storage), header, genesis_hash

    # -- transactions ------------------------------------------------------------------
    def validate_transaction(
        self, state: StateView, xt: bytes, parent_hash: bytes | None = None, *, allow_future: bool = True
    ) -> ValidTransaction:
        from . import validity
        from .executive import check, validate_signed

        ctx = self._context(state, parent_hash)
        c = check(self, ctx, xt)
        if c.xt.signer is None:
            if c.call.pallet == "Timestamp":
                raise validity.invalid(validity.MANDATORY_VALIDATION)
            raise validity.no_unsigned_validator()
        _fee, valid = validate_signed(self, ctx, c, apply=False, allow_future=allow_future)
        return valid

    def _context(self, state: StateView, parent_hash: bytes | None) -> Context:
        raw = state.get(keys.SYSTEM_NUMBER)
        number = (int.from_bytes(raw, "little") if raw else 0) + 1
        ctx = Context(self, state, number)
        if parent_hash is None:
            built = self._built.get(number - 1)
            if built is not None and state.get(keys.SYSTEM_PARENT_HASH) == built[1]:
                parent_hash = built[0]
            elif number == 1 and self._genesis is not None:
                parent_hash = self._genesis[2]
        if parent_hash is not None:
            ctx.overlay.set(keys.block_hash(number - 1), parent_hash)
        return ctx

    def verified(self, scheme: int, signature: bytes, payload: bytes, signer: bytes) -> bool:
        """Signature check with a memory of recent successes (the pool and the block both check)."""
        key = (scheme, signature, payload, signer)
        if key in self._verified:
            return True
        if not verify(scheme, signature, payload, signer):
            return False
        self._verified[key] = None
        if len(self._verified) > 16384:
            self._verified.popitem(last=False)
        return True

    # -- blocks ------------------------------------------------------------------------
    def build_block(
        self, state: StateView, parent_hash: bytes, number: int, timestamp_ms: int, extrinsics: list[bytes]
    ) -> BlockResult:
        ctx = Context(self, state, number)
        builder = BlockBuilder(self, ctx, parent_hash)
        builder.initialize()
        moment = builder.apply_timestamp(timestamp_ms)
        rejected: list[tuple[bytes, InvalidTransaction]] = []
        for xt in extrinsics:
            try:
                builder.apply(xt)
            except InvalidTransaction as exc:
                rejected.append((xt, exc))
        extrinsics_root, digest = builder.finalize()
        changes = ctx.overlay.changes()
        trie = self._trie_for(parent_hash, state).update(changes)
        header = encode_header(parent_hash, number, trie.root(), extrinsics_root, digest)
        block_hash = blake2_256(header)
        self._remember(block_hash, trie)
        self._built[number] = (block_hash, parent_hash)
        while len(self._built) > 4096:
            self._built.popitem(last=False)
        return BlockResult(
            header=header,
            hash=block_hash,
            extrinsics=list(builder.extrinsics),
            changes=changes,
            rejected=rejected,
            timestamp_ms=moment,
            events=ctx.encoded_events(),
        )

    def _remember(self, block_hash: bytes, trie: Trie) -> None:
        self._tries[block_hash] = trie
        self._tries.move_to_end(block_hash)
        while len(self._tries) > 64:
            self._tries.popitem(last=False)

    def _trie_for(self, block_hash: bytes, state: StateView) -> Trie:
        trie = self._tries.get(block_hash)
        if trie is not None:
            return trie
        items = []
        key = state.next_key(b"")
        if state.get(b"") is not None:
            items.append((b"", state.get(b"") or b""))
        while key is not None:
            value = state.get(key)
            if value is not None:
                items.append((key, value))
            key = state.next_key(key)
        trie = Trie.from_items(items, self.state_version)
        self._remember(block_hash, trie)
        return trie

    def state_root(self, state: StateView) -> bytes:
        """The trie root of a whole state (scans it; for checks and tools)."""
        items = []
        key = state.next_key(b"")
        while key is not None:
            value = state.get(key)
            if value is not None:
                items.append((key, value))
            key = state.next_key(key)
        return Trie.from_items(items, self.state_version).root()

    def dispatch(
        self, state: StateView, origin: bytes | None, call: bytes, block_number: int, timestamp_ms: int
    ) -> DispatchOutcome:
        """Dispatch ``call`` directly, as the pallet-spec dispatch vectors do (no extrinsic, no fee).

        The context is set first: events reset, ``System.Number``, ``Timestamp.Now``
        and ``System.ExecutionPhase = ApplyExtrinsic(0)``. ``origin`` is the
        signer's account id, or None for an unsigned origin. A failed dispatch
        reverts every change of the call.
        """
        from decentralml.primitives.scale import u32, u64

        from .calls import NONE, Origin, dispatch
        from .types import DispatchFailure

        ctx = Context(self, state, block_number)
        ov = ctx.overlay
        ov.kill(keys.SYSTEM_EVENTS)
        ov.kill(keys.SYSTEM_EVENT_COUNT)
        ov.set(keys.SYSTEM_NUMBER, u32(block_number))
        ov.set(keys.TIMESTAMP_NOW, u64(timestamp_ms))
        ov.set(keys.SYSTEM_EXECUTION_PHASE, b"\x00" + u32(0))
        ctx.set_phase_apply(0)
        decoded = self.codec.decode(call)
        error: bytes | None = None
        ctx.begin()
        try:
            dispatch(ctx, self.codec, Origin(who=origin) if origin is not None else NONE, decoded)
        except DispatchFailure as failure:
            ctx.rollback()
            error = failure.encoded
        else:
            ctx.commit()
        if ctx.events:
            ov.set(keys.SYSTEM_EVENT_COUNT, u32(len(ctx.events)))
            ov.set(keys.SYSTEM_EVENTS, ctx.encoded_events())
        return DispatchOutcome(error=error, changes=ov.changes(), events=ctx.encoded_events(), weight=self.codec.info(decoded).weight)

    # -- runtime APIs ------------------------------------------------------------------
    def state_call(self, state: StateView, method: str, data: bytes) -> bytes:
        from .apis import call_api

        return call_api(self, state, method, data)
