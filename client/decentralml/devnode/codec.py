"""The few SCALE shapes the node itself reads: compact integers, headers, block bodies.

The runtime owns every other encoding; the node only needs to split a block
body into extrinsics, turn a header into the JSON a real node serves, and
hash. Pure functions over bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from decentralml.primitives.hashing import blake2_256 as blake2_256  # re-exported: the node hashes with it


class CodecError(ValueError):
    """Bytes that do not decode as the expected SCALE shape."""


def encode_compact(value: int) -> bytes:
    """SCALE compact encoding of a non-negative integer."""
    if value < 0:
        raise CodecError("compact integers are non-negative")
    if value < 1 << 6:
        return bytes([value << 2])
    if value < 1 << 14:
        return ((value << 2) | 1).to_bytes(2, "little")
    if value < 1 << 30:
        return ((value << 2) | 2).to_bytes(4, "little")
    raw = value.to_bytes((value.bit_length() + 7) // 8, "little")
    return bytes([((len(raw) - 4) << 2) | 3]) + raw


def decode_compact(data: bytes, offset: int = 0) -> tuple[int, int]:
    """Decode a compact integer at ``offset``; return (value, next offset)."""
    if offset >= len(data):
        raise CodecError("Not enough data to fill buffer")
    mode = data[offset] & 3
    if mode == 0:
        return data[offset] >> 2, offset + 1
    if mode == 1:
        end = offset + 2
    elif mode == 2:
        end = offset + 4
    else:
        end = offset + 1 + (data[offset] >> 2) + 4
        if end > len(data):
            raise CodecError("Not enough data to fill buffer")
        return int.from_bytes(data[offset + 1 : end], "little"), end
    if end > len(data):
        raise CodecError("Not enough data to fill buffer")
    return int.from_bytes(data[offset:end], "little") >> 2, end


def split_opaque(data: bytes, offset: int = 0) -> tuple[bytes, int]:
    """Read one length-prefixed item (prefix included) as a node reads an opaque extrinsic."""
    length, start = decode_compact(data, offset)
    end = start + length
    if end > len(data):
        raise CodecError("Not enough data to fill buffer")
    return data[offset:end], end


def encode_body(extrinsics: list[bytes] | tuple[bytes, ...]) -> bytes:
    """A block body: compact count, then each extrinsic with its own length prefix."""
    return encode_compact(len(extrinsics)) + b"".join(extrinsics)


def decode_body(data: bytes) -> list[bytes]:
    """Inverse of :func:`encode_body`."""
    count, offset = decode_compact(data)
    out = []
    for _ in range(count):
        xt, offset = split_opaque(data, offset)
        out.append(xt)
    return out


@dataclass(frozen=True)
class Header:
    """A decoded Substrate header (u32 block numbers)."""

    parent_hash: bytes
    number: int
    state_root: bytes
    extrinsics_root: bytes
    digest_logs: tuple[bytes, ...]

    def to_json(self) -> dict[str, object]:
        """The JSON shape of ``chain_getHeader``: hex strings, number included."""
        return {
            "parentHash": to_hex(self.parent_hash),
            "number": hex(self.number),
            "stateRoot": to_hex(self.state_root),
            "extrinsicsRoot": to_hex(self.extrinsics_root),
            "digest": {"logs": [to_hex(log) for log in self.digest_logs]},
        }


_DIGEST_WITH_ENGINE = {4, 5, 6}  # Consensus, Seal, PreRuntime: engine id then Vec<u8>


def decode_header(data: bytes) -> Header:
    """Decode a SCALE header into its fields, keeping each digest item's bytes."""
    if len(data) < 32:
        raise CodecError("header too short")
    parent = data[:32]
    number, offset = decode_compact(data, 32)
    if offset + 64 > len(data):
        raise CodecError("header too short")
    state_root = data[offset : offset + 32]
    extrinsics_root = data[offset + 32 : offset + 64]
    offset += 64
    count, offset = decode_compact(data, offset)
    logs = []
    for _ in range(count):
        start = offset
        if offset >= len(data):
            raise CodecError("digest truncated")
        kind = data[offset]
        offset += 1
        if kind in _DIGEST_WITH_ENGINE:
            offset += 4
            length, offset = decode_compact(data, offset)
            offset += length
        elif kind == 0:
            length, offset = decode_compact(data, offset)
            offset += length
        elif kind == 8:
            pass
        else:
            raise CodecError(f"unknown digest item {kind}")
        if offset > len(data):
            raise CodecError("digest truncated")
        logs.append(data[start:offset])
    return Header(parent, number, state_root, extrinsics_root, tuple(logs))


def to_hex(data: bytes) -> str:
    return "0x" + data.hex()


def from_hex(text: object) -> bytes:
    """Parse a 0x-prefixed hex string (the prefix is optional, as on a real node)."""
    if not isinstance(text, str):
        raise CodecError("expected a hex string")
    body = text[2:] if text[:2] in ("0x", "0X") else text
    try:
        return bytes.fromhex(body)
    except ValueError as exc:
        raise CodecError(f"invalid hex string: {exc}") from None
