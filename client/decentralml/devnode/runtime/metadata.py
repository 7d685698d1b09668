"""A small, fast reader of FRAME metadata V14: names to indices, docs, constants.

Only what the runtime needs is kept: pallet indices, call/event/error
variants (index, field names and type ids, docs), constants and storage
hashers, plus the portable type registry for checks. Decoding the whole
document through scalecodec takes seconds; this takes milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from decentralml.primitives.scale import CodecError, Reader

MAGIC = b"meta"


@dataclass(frozen=True)
class Field:
    name: str | None
    type_id: int
    type_name: str | None


@dataclass(frozen=True)
class Variant:
    name: str
    index: int
    fields: tuple[Field, ...]
    docs: tuple[str, ...]


@dataclass(frozen=True)
class TypeDef:
    """One registry entry: ``kind`` is composite/variant/sequence/array/tuple/primitive/compact/bitsequence."""

    path: tuple[str, ...]
    params: tuple[tuple[str, int | None], ...]
    kind: str
    fields: tuple[Field, ...] = ()
    variants: tuple[Variant, ...] = ()
    inner: int | None = None  # sequence/array/compact element type
    length: int = 0  # array length
    tuple_types: tuple[int, ...] = ()
    primitive: str = ""


@dataclass(frozen=True)
class StorageEntry:
    name: str
    hashers: tuple[str, ...]  # empty for a plain value
    key_type: int | None
    value_type: int
    default: bytes
    optional: bool


@dataclass
class Pallet:
    name: str
    index: int
    calls: dict[str, Variant] = field(default_factory=dict)
    events: dict[str, Variant] = field(default_factory=dict)
    errors: dict[str, Variant] = field(default_factory=dict)
    constants: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    storage_prefix: str | None = None
    storage: dict[str, StorageEntry] = field(default_factory=dict)
    call_type: int | None = None
    event_type: int | None = None
    error_type: int | None = None


_PRIMITIVES = ("bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "u256", "i8", "i16", "i32", "i64", "i128", "i256")
_HASHERS = ("Blake2_128", "Blake2_256", "Blake2_128Concat", "Twox128", "Twox256", "Twox64Concat", "Identity")


def _text(r: Reader) -> str:
    return r.vec_u8().decode("utf-8")


def _texts(r: Reader) -> tuple[str, ...]:
    return tuple(_text(r) for _ in range(r.compact()))


def _opt_text(r: Reader) -> str | None:
    return _text(r) if r.option_flag() else None


def _fields(r: Reader) -> tuple[Field, ...]:
    out = []
    for _ in range(r.compact()):
        name = _opt_text(r)
        ty = r.compact()
        type_name = _opt_text(r)
        _texts(r)
        out.append(Field(name, ty, type_name))
    return tuple(out)


def _type_def(r: Reader, path: tuple[str, ...], params: tuple[tuple[str, int | None], ...]) -> TypeDef:
    tag = r.u8()
    if tag == 0:
        return TypeDef(path, params, "composite", fields=_fields(r))
    if tag == 1:
        variants = []
        for _ in range(r.compact()):
            name = _text(r)
            fields = _fields(r)
            index = r.u8()
            docs = _texts(r)
            variants.append(Variant(name, index, fields, docs))
        return TypeDef(path, params, "variant", variants=tuple(variants))
    if tag == 2:
        return TypeDef(path, params, "sequence", inner=r.compact())
    if tag == 3:
        length = r.u32()
        return TypeDef(path, params, "array", inner=r.compact(), length=length)
    if tag == 4:
        return TypeDef(path, params, "tuple", tuple_types=tuple(r.compact() for _ in range(r.compact())))
    if tag == 5:
        return TypeDef(path, params, "primitive", primitive=_PRIMITIVES[r.u8()])
    if tag == 6:
        return TypeDef(path, params, "compact", inner=r.compact())
    if tag == 7:
        r.compact()
        r.compact()
        return TypeDef(path, params, "bitsequence")
    raise CodecError(f"unknown TypeDef tag {tag}")


@dataclass
class Metadata:
    """The parts of a V14 metadata document the runtime uses."""

    types: dict[int, TypeDef]
    pallets: dict[str, Pallet]
    extrinsic_type: int
    extrinsic_version: int
    signed_extensions: tuple[tuple[str, int, int], ...]
    runtime_type: int

    def pallet(self, name: str) -> Pallet:
        try:
            return self.pallets[name]
        except KeyError:
            raise KeyError(f"pallet {name!r} is not in the metadata") from None

    def variants_of(self, type_id: int | None) -> dict[str, Variant]:
        if type_id is None:
            return {}
        return {v.name: v for v in self.types[type_id].variants}


def parse_metadata_v14(data: bytes) -> Metadata:
    """Parse ``b"meta" ‖ 14 ‖ RuntimeMetadataV14``."""
    r = Reader(data)
    if r.take(4) != MAGIC:
        raise CodecError("metadata does not start with the magic bytes 'meta'")
    version = r.u8()
    if version != 14:
        raise CodecError(f"expected metadata V14, found V{version}")
    types: dict[int, TypeDef] = {}
    for _ in range(r.compact()):
        type_id = r.compact()
        path = _texts(r)
        params = []
        for _ in range(r.compact()):
            pname = _text(r)
            pty = r.compact() if r.option_flag() else None
            params.append((pname, pty))
        types[type_id] = _type_def(r, path, tuple(params))
        _texts(r)
    pallets: dict[str, Pallet] = {}
    for _ in range(r.compact()):
        name = _text(r)
        pallet = Pallet(name=name, index=-1)
        if r.option_flag():
            pallet.storage_prefix = _text(r)
            for _ in range(r.compact()):
                sname = _text(r)
                modifier = r.u8()
                kind = r.u8()
                if kind == 0:
                    hashers: tuple[str, ...] = ()
                    key_type = None
                    value_type = r.compact()
                else:
                    hashers = tuple(_HASHERS[r.u8()] for _ in range(r.compact()))
                    key_type = r.compact()
                    value_type = r.compact()
                default = r.vec_u8()
                _texts(r)
                pallet.storage[sname] = StorageEntry(sname, hashers, key_type, value_type, default, modifier == 0)
        if r.option_flag():
            pallet.call_type = r.compact()
        if r.option_flag():
            pallet.event_type = r.compact()
        for _ in range(r.compact()):
            cname = _text(r)
            cty = r.compact()
            value = r.vec_u8()
            _texts(r)
            pallet.constants[cname] = (cty, value)
        if r.option_flag():
            pallet.error_type = r.compact()
        pallet.index = r.u8()
        pallets[name] = pallet
    extrinsic_type = r.compact()
    extrinsic_version = r.u8()
    exts = []
    for _ in range(r.compact()):
        ident = _text(r)
        exts.append((ident, r.compact(), r.compact()))
    runtime_type = r.compact()
    md = Metadata(types, pallets, extrinsic_type, extrinsic_version, tuple(exts), runtime_type)
    for p in pallets.values():
        p.calls = md.variants_of(p.call_type)
        p.events = md.variants_of(p.event_type)
        p.errors = md.variants_of(p.error_type)
    return md
