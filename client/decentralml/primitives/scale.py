"""Hand-written SCALE primitives: the dev node runtime's hot paths and the client's registry decoders
(:mod:`decentralml.chain.registry_codec`) read through the same :class:`Reader`.

Decoding works on a :class:`Reader` over ``bytes``; every decoder raises
:class:`CodecError` on truncated or malformed input, never ``IndexError``.
"""

from __future__ import annotations

import struct


class CodecError(ValueError):
    """The bytes are not a valid SCALE encoding of the expected type."""


#: The largest value of each SCALE fixed-width unsigned integer (``uN`` holds ``0..=2**N - 1``): the one
#: definition the codecs, the amounts and the CLI's bounds on on-chain integers read.
U8_MAX = (1 << 8) - 1
U16_MAX = (1 << 16) - 1
U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1
U128_MAX = (1 << 128) - 1

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


def compact(value: int) -> bytes:
    """SCALE compact encoding of a non-negative integer."""
    if value < 0:
        raise CodecError("compact integers are unsigned")
    if value < 1 << 6:
        return bytes((value << 2,))
    if value < 1 << 14:
        return ((value << 2) | 1).to_bytes(2, "little")
    if value < 1 << 30:
        return ((value << 2) | 2).to_bytes(4, "little")
    length = (value.bit_length() + 7) // 8
    if length > 67:
        raise CodecError("compact integer too large")
    return bytes((((length - 4) << 2) | 3,)) + value.to_bytes(length, "little")


def u8(value: int) -> bytes:
    return bytes((value,))


def u32(value: int) -> bytes:
    return _U32.pack(value)


def u64(value: int) -> bytes:
    return _U64.pack(value)


def u128(value: int) -> bytes:
    return value.to_bytes(16, "little")


def boolean(value: bool) -> bytes:
    return b"\x01" if value else b"\x00"


def vec_u8(data: bytes) -> bytes:
    """``Vec<u8>`` / ``BoundedVec<u8, _>``: compact length then the bytes."""
    return compact(len(data)) + data


def option(data: bytes | None) -> bytes:
    """``Option<T>`` given the already-encoded ``T`` (or ``None``)."""
    return b"\x00" if data is None else b"\x01" + data


class Reader:
    """A cursor over SCALE bytes."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise CodecError("unexpected end of input")
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def u8(self) -> int:
        if self.pos >= len(self.data):
            raise CodecError("unexpected end of input")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def boolean(self) -> bool:
        b = self.u8()
        if b > 1:
            raise CodecError("invalid bool")
        return b == 1

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "little")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def u64(self) -> int:
        return int.from_bytes(self.take(8), "little")

    def u128(self) -> int:
        return int.from_bytes(self.take(16), "little")

    def compact(self) -> int:
        first = self.u8()
        mode = first & 3
        if mode == 0:
            return first >> 2
        if mode == 1:
            value = (first | (self.u8() << 8)) >> 2
            if value < 1 << 6:
                raise CodecError("non-canonical compact")
            return value
        if mode == 2:
            value = (first | (int.from_bytes(self.take(3), "little") << 8)) >> 2
            if value < 1 << 14:
                raise CodecError("non-canonical compact")
            return value
        length = (first >> 2) + 4
        value = int.from_bytes(self.take(length), "little")
        if value < 1 << 30 or (length > 4 and value < 1 << (8 * (length - 1))):
            raise CodecError("non-canonical compact")
        return value

    def compact_u32(self) -> int:
        value = self.compact()
        if value > U32_MAX:
            raise CodecError("compact u32 out of range")
        return value

    def compact_u64(self) -> int:
        value = self.compact()
        if value > U64_MAX:
            raise CodecError("compact u64 out of range")
        return value

    def compact_u128(self) -> int:
        value = self.compact()
        if value > U128_MAX:
            raise CodecError("compact u128 out of range")
        return value

    def vec_u8(self, max_len: int | None = None) -> bytes:
        n = self.compact()
        if max_len is not None and n > max_len:
            raise CodecError("bounded vector too long")
        return self.take(n)

    def option_flag(self) -> bool:
        b = self.u8()
        if b > 1:
            raise CodecError("invalid option tag")
        return b == 1
