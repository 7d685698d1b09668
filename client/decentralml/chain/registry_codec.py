"""SCALE decoders compiled from a runtime's portable type registry: one closure per type id, built once.

scalecodec builds a tree of Python objects for every value it decodes (about
0.2 ms for one ``Task``); a listing of 10,000 tasks spent most of its time
there. :class:`RegistryDecoders` reads the same portable registry (scale-info,
from the node's metadata: the one source of the types) and compiles each type
id into a closure over a :class:`~decentralml.primitives.scale.Reader`, the
closures of its fields resolved once.

The values have exactly the shape scalecodec gives them (what
:mod:`decentralml.chain.types` decodes from), so the two can be compared value
by value (the tests do): a struct is a dict of its named fields; a composite
with unnamed fields a tuple (its single field's value when it has one); an
enum variant without fields its name, with fields ``{name: value}``; ``Option``
None or the value; ``Vec<u8>`` UTF-8 text, or ``0x`` hex when it is not UTF-8;
``[u8; N]`` ``0x`` hex; ``AccountId32`` an SS58 address; compact and fixed
integers ints. Which of these rules applies to a type is decided by the
scalecodec class the same registry gives it (``classify``); a type scalecodec
decodes with a class of its own (events, calls, eras, addresses...) is decoded
by scalecodec itself, so every type decodes, the common ones fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from decentralml.primitives.scale import CodecError, Reader

Decoder = Callable[[Reader], Any]
#: The scalecodec class name a type decodes with (see :meth:`RegistryDecoders.__init__`).
Classify = Callable[[int], str]
#: Decodes one value of a type id with scalecodec from a reader, advancing it (types compiled here do not need it).
Fallback = Callable[[int, Reader], Any]

_UNSIGNED = {"U8": 1, "U16": 2, "U32": 4, "U64": 8, "U128": 16, "U256": 32}
_SIGNED = {"I8": 1, "I16": 2, "I32": 4, "I64": 8, "I128": 16, "I256": 32}
_ADDRESS_CACHE = 4096
_HASHES = {"H160": 20, "H256": 32, "H512": 64}


class RegistryDecoders:
    """Decoders for the types of one portable registry.

    ``registry``: the metadata's ``types`` list (``{"id": n, "type": {"path", "def", ...}}``, as JSON).
    ``classify(type_id)``: the name of the scalecodec class the type decodes with (``"Struct"``, ``"Enum"``,
    ``"GenericAccountId"``...). ``fallback``: decodes a type whose class has no rule here.
    """

    def __init__(self, registry: Sequence[Mapping[str, Any]], classify: Classify, fallback: Fallback, ss58_format: int) -> None:
        self._types = {int(t["id"]): t["type"] for t in registry}
        self._classify = classify
        self._fallback = fallback
        self._ss58_format = ss58_format
        self._compiled: dict[int, Decoder] = {}

    def decode(self, type_id: int, data: bytes) -> Any:
        """The value of ``data`` as type ``type_id``; :class:`CodecError` unless ``data`` is exactly one value."""
        reader = Reader(data)
        value = self.decoder(type_id)(reader)
        if not reader.at_end():
            raise CodecError(f"{reader.remaining()} bytes left after a value of type {type_id}")
        return value

    def decoder(self, type_id: int) -> Decoder:
        """The compiled decoder of ``type_id`` (compiled on first use; recursive types resolve through a cell)."""
        found = self._compiled.get(type_id)
        if found is not None:
            return found
        cell: list[Decoder] = []
        self._compiled[type_id] = lambda reader: cell[0](reader)  # a type that refers to itself
        compiled = self._compile(type_id)
        cell.append(compiled)
        self._compiled[type_id] = compiled
        return compiled

    def _definition(self, type_id: int) -> Mapping[str, Any]:
        found = self._types.get(type_id)
        if found is None:
            raise CodecError(f"type {type_id} is not in the runtime's type registry")
        return found["def"]

    def _compile(self, type_id: int) -> Decoder:
        kind = self._classify(type_id)
        definition = self._definition(type_id)
        if kind in _UNSIGNED:
            size = _UNSIGNED[kind]
            return lambda r: int.from_bytes(r.take(size), "little")
        if kind in _SIGNED:
            size = _SIGNED[kind]
            return lambda r: int.from_bytes(r.take(size), "little", signed=True)
        if kind in _HASHES:
            size = _HASHES[kind]
            return lambda r: "0x" + r.take(size).hex()
        if kind == "Bool":
            return Reader.boolean
        if kind == "Str":
            return _text_or_hex
        if kind == "Compact":
            return Reader.compact
        if kind == "Null":
            return lambda r: None
        if kind == "GenericAccountId":
            return self._account_id(type_id, definition)
        if kind == "Option":
            return self._option(type_id, definition)
        if kind == "Vec" and "sequence" in definition:
            element = int(definition["sequence"]["type"])
            if self._classify(element) == "U8":
                return lambda r: _text_or_hex(r)
            inner = self.decoder(element)
            return lambda r: [inner(r) for _ in range(_bounded_count(r))]
        if kind == "FixedLengthArray" and "array" in definition:
            length = int(definition["array"]["len"])
            element = int(definition["array"]["type"])
            if length and self._classify(element) == "U8":
                return lambda r: "0x" + r.take(length).hex()
            inner = self.decoder(element)
            return lambda r: [inner(r) for _ in range(length)]
        if kind == "Struct" and "composite" in definition:
            return self._struct([(f["name"], int(f["type"])) for f in definition["composite"].get("fields", [])])
        if kind == "Tuple" and ("composite" in definition or "tuple" in definition):
            if "tuple" in definition:
                members = [int(t) for t in definition["tuple"]]
            else:
                members = [int(f["type"]) for f in definition["composite"].get("fields", [])]
            return self._tuple(members)
        if kind == "Enum" and "variant" in definition:
            return self._enum(definition["variant"].get("variants", []))
        return lambda r: self._fallback(type_id, r)

    def _struct(self, fields: list[tuple[str, int]]) -> Decoder:
        compiled = [(name, self.decoder(t)) for name, t in fields]

        def decode(reader: Reader) -> dict[str, Any]:
            return {name: inner(reader) for name, inner in compiled}

        return decode

    def _tuple(self, members: list[int]) -> Decoder:
        if len(members) == 1:
            return self.decoder(members[0])
        compiled = [self.decoder(t) for t in members]
        return lambda r: tuple(inner(r) for inner in compiled)

    def _enum(self, variants: Sequence[Mapping[str, Any]]) -> Decoder:
        table: dict[int, Callable[[Reader], Any]] = {}
        for variant in variants:
            name = variant["name"]
            fields = variant.get("fields") or []
            if not fields:
                table[int(variant["index"])] = _constant(name)
            elif all(f.get("name") for f in fields):
                table[int(variant["index"])] = _named(name, self._struct([(f["name"], int(f["type"])) for f in fields]))
            else:
                table[int(variant["index"])] = _named(name, self._tuple([int(f["type"]) for f in fields]))

        def decode(reader: Reader) -> Any:
            index = reader.u8()
            chosen = table.get(index)
            if chosen is None:
                raise CodecError(f"variant index {index} is not in the enum's type")
            return chosen(reader)

        return decode

    def _option(self, type_id: int, definition: Mapping[str, Any]) -> Decoder:
        some = [v for v in definition.get("variant", {}).get("variants", []) if v.get("name") == "Some"]
        if len(some) != 1 or len(some[0].get("fields") or []) != 1:
            return lambda r: self._fallback(type_id, r)
        inner = self.decoder(int(some[0]["fields"][0]["type"]))

        def decode(reader: Reader) -> Any:
            return inner(reader) if reader.option_flag() else None

        return decode

    def _account_id(self, type_id: int, definition: Mapping[str, Any]) -> Decoder:
        from decentralml.primitives.ss58 import address_of

        ss58_format = self._ss58_format
        known: dict[bytes, str] = {}  # the same few creators and workers recur in a listing: base58 once each

        def decode(reader: Reader) -> str:
            public_key = reader.take(32)
            address = known.get(public_key)
            if address is None:
                if len(known) >= _ADDRESS_CACHE:
                    known.clear()
                address = known[public_key] = address_of(public_key, ss58_format)
            return address

        return decode


def _constant(name: str) -> Decoder:
    return lambda reader: name


def _named(name: str, inner: Decoder) -> Decoder:
    return lambda reader: {name: inner(reader)}


def _bounded_count(reader: Reader) -> int:
    """A sequence's compact length, refused when it exceeds the bytes left (every element takes one at least,
    zero-sized elements aside: the registry has none a storage value holds a long sequence of)."""
    count = reader.compact()
    if count > reader.remaining():
        raise CodecError(f"a sequence of {count} elements in {reader.remaining()} bytes")
    return count


def _text_or_hex(reader: Reader) -> str:
    data = reader.vec_u8()
    try:
        return data.decode()
    except UnicodeDecodeError:
        return "0x" + data.hex()
