"""Runtime APIs reachable through ``state_call``: name → SCALE in, SCALE out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from decentralml.primitives.scale import U64_MAX, CodecError, Reader, compact, option, u32, u64, u128, vec_u8

from . import validity
from .executive import compute_fee, inclusion_fee
from .extrinsic import decode_extrinsic
from .state import StateView
from .types import DispatchInfo, Weight
from .validity import InvalidTransaction

if TYPE_CHECKING:
    from . import Runtime

# sp_runtime InvalidTransaction / UnknownTransaction variant indices by RPC data string.
_INVALID_INDEX = {
    validity.CALL: 0,
    validity.PAYMENT: 1,
    validity.FUTURE: 2,
    validity.STALE: 3,
    validity.BAD_PROOF: 4,
    validity.ANCIENT_BIRTH_BLOCK: 5,
    validity.EXHAUSTS_RESOURCES: 6,
    validity.MANDATORY_VALIDATION: 9,
    validity.BAD_SIGNER: 10,
}


def _error(method: str, detail: str) -> Exception:
    from . import RuntimeApiError

    return RuntimeApiError(f"Runtime panicked: Bad input data provided to {method}: {detail}")


def _split_extrinsic(data: bytes) -> tuple[bytes, Reader]:
    r = Reader(data)
    n = r.compact()
    end = r.pos + n
    if end > len(data):
        raise CodecError("extrinsic longer than the input")
    r.pos = end
    return data[:end], r


def _dispatch_info_scale(info: DispatchInfo, fee: int) -> bytes:
    return info.weight.encode() + bytes((int(info.dispatch_class),)) + u128(fee)


def _fee_details(rt: Runtime, ctx: object, length: int, info: DispatchInfo, tip: int, signed: bool) -> bytes:
    if not signed or not info.pays_fee:
        return b"\x00" + u128(tip if signed else 0)
    base, len_fee, adjusted, _ = inclusion_fee(ctx, rt, length, info)  # type: ignore[arg-type]
    return b"\x01" + u128(base) + u128(len_fee) + u128(adjusted) + u128(tip)


def _validity_scale(result: validity.ValidTransaction | InvalidTransaction) -> bytes:
    if isinstance(result, InvalidTransaction):
        if result.code == validity.UNKNOWN[0]:
            return b"\x01\x01" + (b"\x00" if result.data == validity.CANNOT_LOOKUP else b"\x01")
        return b"\x01\x00" + bytes((_INVALID_INDEX.get(result.data or "", 0),))
    tags = lambda ts: compact(len(ts)) + b"".join(vec_u8(t) for t in ts)  # noqa: E731
    return (
        b"\x00" + u64(result.priority) + tags(result.requires) + tags(result.provides)
        + u64(min(result.longevity, U64_MAX)) + (b"\x01" if result.propagate else b"\x00")
    )  # fmt: skip


TIMESTAMP_INHERENT = b"timstap0"


def _inherent_extrinsics(rt: Runtime, data: bytes) -> bytes:
    """``BlockBuilder_inherent_extrinsics(InherentData)``: the timestamp inherent, bare v5 as stable2609 builds it."""
    r = Reader(data)
    entries = {}
    for _ in range(r.compact()):
        ident = r.take(8)
        entries[ident] = r.vec_u8()
    out = []
    moment = entries.get(TIMESTAMP_INHERENT)
    if moment is not None:
        call = rt.index.call_index("Timestamp", "set") + compact(Reader(moment).u64())
        out.append(vec_u8(b"\x05" + call))
    return compact(len(out)) + b"".join(out)


def call_api(rt: Runtime, state: StateView, method: str, data: bytes) -> bytes:
    """Answer ``state_call(method, data)``; raises RuntimeApiError."""
    from . import RuntimeApiError

    try:
        if method == "Core_version":
            return rt.version_scale
        if method == "Metadata_metadata":
            return vec_u8(rt.metadata_v14)
        if method == "Metadata_metadata_versions":
            return compact(2) + u32(14) + u32(15)
        if method == "Metadata_metadata_at_version":
            version = Reader(data).u32()
            found = {14: rt.metadata_v14, 15: rt.metadata_v15}.get(version)
            return option(vec_u8(found) if found is not None else None)
        if method == "AccountNonceApi_account_nonce":
            who = Reader(data).take(32)
            ctx = rt._context(state, None)
            return u32(ctx.account(who).nonce)
        if method in ("TransactionPaymentApi_query_info", "TransactionPaymentApi_query_fee_details"):
            raw, r = _split_extrinsic(data)
            length = r.u32()
            xt = decode_extrinsic(raw)
            call = rt.codec.decode(xt.call)
            info = rt.codec.info(call)
            ctx = rt._context(state, None)
            if method.endswith("query_info"):
                fee = compute_fee(ctx, rt, length, info, 0) if xt.signed else 0
                return _dispatch_info_scale(info, fee)
            return _fee_details(rt, ctx, length, info, xt.tip, xt.signed)
        if method in ("TransactionPaymentCallApi_query_call_info", "TransactionPaymentCallApi_query_call_fee_details"):
            r = Reader(data)
            call = rt.codec.read(r)
            length = r.u32()
            info = rt.codec.info(call)
            ctx = rt._context(state, None)
            if method.endswith("query_call_info"):
                return _dispatch_info_scale(info, compute_fee(ctx, rt, length, info, 0))
            return _fee_details(rt, ctx, length, info, 0, True)
        if method in ("TransactionPaymentApi_query_weight_to_fee", "TransactionPaymentCallApi_query_weight_to_fee"):
            r = Reader(data)
            return u128(Weight(r.compact_u64(), r.compact_u64()).ref_time)
        if method in ("TransactionPaymentApi_query_length_to_fee", "TransactionPaymentCallApi_query_length_to_fee"):
            return u128(Reader(data).u32() * rt.transaction_byte_fee)
        if method == "SessionKeys_generate_session_keys":
            r = Reader(data)
            r.vec_u8()
            if r.option_flag():
                r.vec_u8()
            return b"\x00\x00"  # OpaqueGeneratedSessionKeys{keys: [], proof: []}: no session keys
        if method == "SessionKeys_decode_session_keys":
            return b"\x01\x00" if Reader(data).vec_u8() == b"" else b"\x00"
        if method == "GenesisBuilder_preset_names":
            return compact(1) + vec_u8(b"development")
        if method == "GenesisBuilder_get_preset":
            r = Reader(data)
            if not r.option_flag():  # None: the default (empty) genesis config
                return option(vec_u8(rt.preset_json(development=False)))
            name = r.vec_u8()
            return option(vec_u8(rt.preset_json(development=True)) if name == b"development" else None)
        if method == "BlockBuilder_inherent_extrinsics":
            return _inherent_extrinsics(rt, data)
        if method == "TaggedTransactionQueue_validate_transaction":
            r = Reader(data)
            r.u8()  # source
            raw, r = _split_extrinsic(data[1:])
            parent = r.take(32)
            try:
                result: validity.ValidTransaction | InvalidTransaction = rt.validate_transaction(state, raw, parent)
            except InvalidTransaction as exc:
                if exc.code == validity.VERIFICATION:
                    raise CodecError(exc.data or "undecodable extrinsic") from None
                result = exc
            return _validity_scale(result)
    except CodecError as exc:
        raise _error(method, str(exc)) from None
    raise RuntimeApiError(f"Other: Exported method {method} is not found")
