"""RuntimeCall decoding, dispatch info and dispatch for the calls this runtime implements.

A call is ``pallet_index ‖ call_index ‖ args``; indices come from the metadata
by name. Calls present in the metadata but not implemented here decode to
:class:`UnsupportedCall` and are refused at validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from decentralml.primitives.hashing import blake2_256
from decentralml.primitives.scale import CodecError, Reader

from . import balances, decentralml, keys
from .balances import Preservation
from .context import Context
from .types import DispatchClass, DispatchFailure, DispatchInfo, Weight, bad_origin

if TYPE_CHECKING:
    from .runtime_index import RuntimeIndex

# Normative weights of the runtime's pallets (pallet-spec/runtime/src/weights.rs).
SYSTEM_REMARK = (10_000_000, 1_000)
SYSTEM_REMARK_WITH_EVENT = (20_000_000, 2_000)
TIMESTAMP_SET = 10_000_000
TIMESTAMP_ON_FINALIZE = 5_000_000
BALANCES_WEIGHTS = {
    "transfer_allow_death": 150_000_000,
    "transfer_keep_alive": 120_000_000,
    "force_transfer": 160_000_000,
    "transfer_all": 150_000_000,
}
BALANCES_BURN = {True: 80_000_000, False: 100_000_000}  # keep_alive → weight
BALANCES_UPGRADE_ACCOUNTS = (20_000_000, 50_000_000)
BALANCES_FORCE_SET_BALANCE = 80_000_000  # max(creating 60_000_000, killing 80_000_000)
SYSTEM_STORAGE_ITEM = (10_000_000, 100_000_000)  # set_storage / kill_storage / kill_prefix: base + per item
SUDO_SUDO = 40_000_000
SUDO_SET_KEY = 40_000_000
SUDO_SUDO_AS = 40_000_000
SUDO_REMOVE_KEY = 40_000_000

CANNOT_LOOKUP = DispatchFailure(b"\x01", "CannotLookup")

# Root-only calls this runtime does not implement: decoded through the metadata, so a
# signed caller gets the real node's BadOrigin (with the declared weight and class);
# under sudo they are refused at validation ("Transaction call is not expected").
ROOT_ONLY_UNIMPLEMENTED: dict[tuple[str, str], tuple[int, DispatchClass]] = {
    ("System", "set_heap_pages"): (50_000_000, DispatchClass.OPERATIONAL),
    ("System", "set_code"): (1_500_000_000_000, DispatchClass.OPERATIONAL),
    ("System", "set_code_without_checks"): (1_500_000_000_000, DispatchClass.OPERATIONAL),
    ("System", "authorize_upgrade"): (50_000_000, DispatchClass.OPERATIONAL),
    ("System", "authorize_upgrade_without_checks"): (50_000_000, DispatchClass.OPERATIONAL),
    ("Balances", "force_unreserve"): (60_000_000, DispatchClass.NORMAL),
    ("Balances", "force_adjust_total_issuance"): (10_000_000, DispatchClass.NORMAL),
}


_PRIMITIVE_SIZES = {
    "char": 4, "u8": 1, "u16": 2, "u32": 4, "u64": 8, "u128": 16, "u256": 32,
    "i8": 1, "i16": 2, "i32": 4, "i64": 8, "i128": 16, "i256": 32,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Call:
    """A decoded call: ``pallet``/``name`` from the metadata, ``args`` pallet-specific."""

    pallet: str
    name: str
    args: Any
    supported: bool = True


@dataclass(frozen=True, slots=True)
class Origin:
    """``Signed(who)``, ``Root`` (who None, root True) or ``None`` (both unset)."""

    who: bytes | None = None
    root: bool = False


ROOT = Origin(root=True)
NONE = Origin()


def _address(r: Reader) -> bytes | None:
    """``MultiAddress<AccountId, ()>``; only ``Id`` resolves (``AccountIdLookup``)."""
    tag = r.u8()
    if tag == 0:
        return r.take(32)
    if tag == 1:  # Index(Compact<()>): encodes as nothing
        return None
    if tag == 2:
        r.vec_u8()
        return None
    if tag == 3:
        r.take(32)
        return None
    if tag == 4:
        r.take(20)
        return None
    raise CodecError("invalid MultiAddress")


def _weight(r: Reader) -> Weight:
    return Weight(r.compact_u64(), r.compact_u64())


class CallCodec:
    """Decodes calls and computes their dispatch info against one metadata."""

    def __init__(self, idx: RuntimeIndex, limits: decentralml.Limits) -> None:
        self.idx = idx
        self.limits = limits
        db = idx.constant("System", "DbWeight")  # RuntimeDbWeight {read: u64, write: u64}
        self.db_weight = (int.from_bytes(db[:8], "little"), int.from_bytes(db[8:16], "little"))

    def decode(self, data: bytes, depth: int = 0) -> Call:
        """Decode a whole call; trailing bytes are an error."""
        r = Reader(data)
        call = self.read(r, depth)
        if not r.at_end():
            raise CodecError("trailing bytes after the call")
        return call

    def read(self, r: Reader, depth: int = 0) -> Call:
        if depth > 8:
            raise CodecError("calls nested too deeply")
        key = (r.u8(), r.u8())
        found = self.idx.calls_by_index.get(key)
        if found is None:
            raise CodecError(f"unknown call index {key}")
        pallet, name, variant = found
        if pallet == "DecentralMLModule":
            return Call(pallet, name, decentralml.decode_call(name, r, self.limits))
        if pallet == "Balances":
            if name in ("transfer_allow_death", "transfer_keep_alive"):
                return Call(pallet, name, (_address(r), r.compact_u128()))
            if name == "force_transfer":
                return Call(pallet, name, (_address(r), _address(r), r.compact_u128()))
            if name == "transfer_all":
                return Call(pallet, name, (_address(r), r.boolean()))
            if name == "burn":
                return Call(pallet, name, (r.compact_u128(), r.boolean()))
            if name == "force_set_balance":
                return Call(pallet, name, (_address(r), r.compact_u128()))
            if name == "upgrade_accounts":
                return Call(pallet, name, [r.take(32) for _ in range(r.compact())])
        elif pallet == "System":
            if name in ("remark", "remark_with_event"):
                return Call(pallet, name, r.vec_u8())
            if name == "set_storage":
                return Call(pallet, name, [(r.vec_u8(), r.vec_u8()) for _ in range(r.compact())])
            if name == "kill_storage":
                return Call(pallet, name, [r.vec_u8() for _ in range(r.compact())])
            if name == "kill_prefix":
                return Call(pallet, name, (r.vec_u8(), r.u32()))
        elif pallet == "Timestamp":
            if name == "set":
                return Call(pallet, name, r.compact_u64())
        elif pallet == "Sudo":
            if name == "sudo":
                return Call(pallet, name, self.read(r, depth + 1))
            if name == "sudo_unchecked_weight":
                return Call(pallet, name, (self.read(r, depth + 1), _weight(r)))
            if name == "set_key":
                return Call(pallet, name, _address(r))
            if name == "sudo_as":
                return Call(pallet, name, (_address(r), self.read(r, depth + 1)))
            if name == "remove_key":
                return Call(pallet, name, None)
        # In the metadata but not implemented here: delimit its arguments by their types.
        start = r.pos
        for field in variant.fields:
            self._skip(field.type_id, r)
        return Call(pallet, name, r.data[start : r.pos], supported=False)

    def _skip(self, type_id: int, r: Reader, depth: int = 0) -> None:
        """Step over one value of a metadata type (validating enum tags and bools)."""
        if depth > 64:
            raise CodecError("type nesting too deep")
        t = self.idx.md.types[type_id]
        kind = t.kind
        if kind == "composite":
            for f in t.fields:
                self._skip(f.type_id, r, depth + 1)
        elif kind == "variant":
            tag = r.u8()
            variant = next((v for v in t.variants if v.index == tag), None)
            if variant is None:
                raise CodecError("invalid enum variant")
            for f in variant.fields:
                self._skip(f.type_id, r, depth + 1)
        elif kind in ("sequence", "array"):
            n = r.compact() if kind == "sequence" else t.length
            assert t.inner is not None
            inner = self.idx.md.types[t.inner]
            if inner.kind == "primitive" and inner.primitive in ("u8", "i8"):
                r.take(n)
            else:
                for _ in range(n):
                    self._skip(t.inner, r, depth + 1)
        elif kind == "tuple":
            for ty in t.tuple_types:
                self._skip(ty, r, depth + 1)
        elif kind == "primitive":
            if t.primitive == "bool":
                r.boolean()
            elif t.primitive == "str":
                r.vec_u8()
            else:
                r.take(_PRIMITIVE_SIZES[t.primitive])
        elif kind == "compact":
            assert t.inner is not None
            inner = self.idx.md.types[t.inner]
            if not (inner.kind == "tuple" and not inner.tuple_types):  # Compact<()> is empty
                r.compact()
        else:
            raise CodecError(f"cannot decode a {kind} argument")

    def all_supported(self, call: Call, root: bool = False) -> bool:
        """Whether this runtime can dispatch ``call`` (root: dispatched with the Root origin)."""
        if not call.supported:
            return not root and (call.pallet, call.name) in ROOT_ONLY_UNIMPLEMENTED
        if call.pallet == "Sudo" and call.name in ("sudo", "sudo_unchecked_weight"):
            return self.all_supported(call.args if call.name == "sudo" else call.args[0], True)
        if call.pallet == "Sudo" and call.name == "sudo_as":
            return self.all_supported(call.args[1], False)
        return True

    def info(self, call: Call) -> DispatchInfo:
        """``GetDispatchInfo``: declared weight, class and pays_fee."""
        p, n, a = call.pallet, call.name, call.args
        if p == "DecentralMLModule":
            return DispatchInfo(decentralml.call_weight(n, a, self.limits, self.db_weight))
        if not call.supported:
            weight, cls = ROOT_ONLY_UNIMPLEMENTED.get((p, n), (0, DispatchClass.NORMAL))
            return DispatchInfo(Weight(weight), cls)
        if p == "Balances":
            if n == "burn":
                return DispatchInfo(Weight(BALANCES_BURN[a[1]]))
            if n == "upgrade_accounts":
                return DispatchInfo(Weight(BALANCES_UPGRADE_ACCOUNTS[0] + BALANCES_UPGRADE_ACCOUNTS[1] * len(a)))
            if n == "force_set_balance":
                return DispatchInfo(Weight(BALANCES_FORCE_SET_BALANCE))
            return DispatchInfo(Weight(BALANCES_WEIGHTS[n]))
        if p == "System":
            if n in ("set_storage", "kill_storage", "kill_prefix"):
                items = a[1] + 1 if n == "kill_prefix" else len(a)
                base, per_item = SYSTEM_STORAGE_ITEM
                return DispatchInfo(Weight(base + per_item * items), DispatchClass.OPERATIONAL)
            base, per_byte = SYSTEM_REMARK if n == "remark" else SYSTEM_REMARK_WITH_EVENT
            return DispatchInfo(Weight(base + per_byte * len(a)))
        if p == "Timestamp":
            return DispatchInfo(Weight(TIMESTAMP_SET), DispatchClass.MANDATORY)
        if p == "Sudo":
            if n == "sudo":
                inner = self.info(a)
                return DispatchInfo(Weight(SUDO_SUDO) + inner.weight, inner.dispatch_class)
            if n == "sudo_unchecked_weight":
                return DispatchInfo(a[1], self.info(a[0]).dispatch_class)
            if n == "sudo_as":
                inner = self.info(a[1])
                return DispatchInfo(Weight(SUDO_SUDO_AS) + inner.weight, inner.dispatch_class)
            return DispatchInfo(Weight(SUDO_SET_KEY if n == "set_key" else SUDO_REMOVE_KEY))
        return DispatchInfo(Weight(0))


def _signed(origin: Origin) -> bytes:
    if origin.who is None:
        raise bad_origin()
    return origin.who


def _ensure_root(origin: Origin) -> None:
    if not origin.root:
        raise bad_origin()


def _lookup(who: bytes | None) -> bytes:
    if who is None:
        raise CANNOT_LOOKUP
    return who


def dispatch(ctx: Context, codec: CallCodec, origin: Origin, call: Call) -> bool:
    """Dispatch ``call`` (no storage layer here); returns pays_fee of the post-dispatch info.

    Raises :class:`DispatchFailure` on error.
    """
    p, n, a = call.pallet, call.name, call.args
    if not call.supported:
        if not origin.root:
            raise bad_origin()
        raise DispatchFailure(b"\x00", f"{p}.{n} is not implemented by this runtime")
    if p == "DecentralMLModule":
        decentralml.Pallet(ctx, codec.limits).dispatch(n, _signed(origin), a)
        return True
    if p == "Balances":
        if n == "force_set_balance":
            _ensure_root(origin)
            balances.force_set_balance(ctx, _lookup(a[0]), a[1])
            return True
        if n == "force_transfer":
            _ensure_root(origin)
            source, dest, value = _lookup(a[0]), _lookup(a[1]), a[2]
            balances.transfer(ctx, source, dest, value, Preservation.EXPENDABLE)
            return True
        who = _signed(origin)
        if n == "burn":
            value, keep_alive = a
            balances.burn_from(ctx, who, value, Preservation.PRESERVE if keep_alive else Preservation.EXPENDABLE)
            return True
        if n == "upgrade_accounts":
            return True  # every account of this chain already uses the new balance logic
        if n == "transfer_allow_death":
            balances.transfer(ctx, who, _lookup(a[0]), a[1], Preservation.EXPENDABLE)
        elif n == "transfer_keep_alive":
            balances.transfer(ctx, who, _lookup(a[0]), a[1], Preservation.PRESERVE)
        elif n == "transfer_all":
            dest = _lookup(a[0])
            keep_alive = a[1]
            pres = Preservation.PRESERVE if keep_alive else Preservation.EXPENDABLE
            amount = balances.reducible_balance(ctx, who, pres)
            balances.transfer(ctx, who, dest, amount, pres)
        return True
    if p == "System":
        if n in ("set_storage", "kill_storage", "kill_prefix"):
            _ensure_root(origin)
            if n == "set_storage":
                for key, value in a:
                    ctx.overlay.set(key, value)
            elif n == "kill_storage":
                for key in a:
                    ctx.overlay.kill(key)
            else:
                for key in ctx.overlay.keys_with_prefix(a[0])[: a[1]]:
                    ctx.overlay.kill(key)
            return True
        signer = _signed(origin) if not origin.root else None
        if n == "remark_with_event":
            if signer is None:
                raise bad_origin()
            ctx.deposit_event("System", "Remarked", signer + blake2_256(a))
        return True
    if p == "Timestamp":
        raise DispatchFailure(b"\x02", "Timestamp.set is an inherent")
    if p == "Sudo":
        return _dispatch_sudo(ctx, codec, origin, n, a)
    raise DispatchFailure(b"\x00", f"{p}.{n} is not implemented by this runtime")


def sudo_key(ctx: Context) -> bytes | None:
    raw = ctx.overlay.get(keys.SUDO_KEY)
    return raw if raw else None


def _dispatch_sudo(ctx: Context, codec: CallCodec, origin: Origin, n: str, a: Any) -> bool:
    if not origin.root:  # ensure_sudo: Root, or Signed by the sudo key
        who = _signed(origin)
        if sudo_key(ctx) != who:
            raise ctx.idx.error("Sudo", "RequireSudo")
    if n in ("sudo", "sudo_unchecked_weight", "sudo_as"):
        if n == "sudo":
            inner, as_origin, event = a, ROOT, "Sudid"
        elif n == "sudo_unchecked_weight":
            inner, as_origin, event = a[0], ROOT, "Sudid"
        else:
            inner, as_origin, event = a[1], Origin(who=_lookup(a[0])), "SudoAsDone"
        ctx.begin()
        try:
            dispatch(ctx, codec, as_origin, inner)
        except DispatchFailure as failure:
            ctx.rollback()
            ctx.deposit_event("Sudo", event, b"\x01" + failure.encoded)
        else:
            ctx.commit()
            ctx.deposit_event("Sudo", event, b"\x00")
        return False
    if n == "set_key":
        new = _lookup(a)
        old = sudo_key(ctx)
        ctx.overlay.set(keys.SUDO_KEY, new)
        ctx.deposit_event("Sudo", "KeyChanged", (b"\x01" + old if old else b"\x00") + new)
        return False
    if n == "remove_key":
        ctx.overlay.kill(keys.SUDO_KEY)
        ctx.deposit_event("Sudo", "KeyRemoved", b"")
        return False
    raise DispatchFailure(b"\x00", f"Sudo.{n} is not implemented")
