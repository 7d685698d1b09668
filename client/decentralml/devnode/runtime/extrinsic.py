"""The extrinsic envelope (format v4): decoding, eras and the signed payload."""

from __future__ import annotations

from dataclasses import dataclass

from decentralml.primitives.hashing import blake2_256
from decentralml.primitives.scale import U64_MAX, CodecError, Reader, compact, u32
from decentralml.primitives.signatures import SIGNATURE_LENGTH


@dataclass(frozen=True, slots=True)
class Era:
    """``Immortal`` when ``period`` is 0, else ``Mortal(period, phase)``."""

    period: int = 0
    phase: int = 0

    @property
    def immortal(self) -> bool:
        return self.period == 0

    def birth(self, current: int) -> int:
        if self.period == 0:
            return 0
        return (max(current, self.phase) - self.phase) // self.period * self.period + self.phase

    def death(self, current: int) -> int:
        if self.period == 0:
            return U64_MAX
        return self.birth(current) + self.period

    def encode(self) -> bytes:
        if self.period == 0:
            return b"\x00"
        quantize = max(self.period >> 12, 1)
        low = min(max((self.period.bit_length() - 1) - 1, 1), 15)
        encoded = low | ((self.phase // quantize) << 4)
        return encoded.to_bytes(2, "little")

    @classmethod
    def mortal(cls, period: int, current: int) -> Era:
        """The era sp-runtime's ``Era::mortal(period, current)`` builds."""
        period = min(max(1 << (max(period, 2) - 1).bit_length(), 4), 1 << 16)
        phase = current % period
        quantize = max(period >> 12, 1)
        return cls(period, phase // quantize * quantize)


def decode_era(r: Reader) -> Era:
    first = r.u8()
    if first == 0:
        return Era()
    encoded = first | (r.u8() << 8)
    period = 2 << (encoded % 16)
    quantize = max(period >> 12, 1)
    phase = (encoded >> 4) * quantize
    if period >= 4 and phase < period:
        return Era(period, phase)
    raise CodecError("Invalid period and phase")


@dataclass(frozen=True, slots=True)
class Extrinsic:
    """A decoded v4 extrinsic. ``signer`` is None for an unsigned (bare) one."""

    encoded: bytes  # the full encoding, length prefix included
    call: bytes
    signer: bytes | None = None
    scheme: int = 0
    signature: bytes = b""
    era: Era = Era()
    nonce: int = 0
    tip: int = 0
    extra: bytes = b""  # era ‖ compact(nonce) ‖ compact(tip) as signed
    unresolvable: bool = False  # signed by a MultiAddress that AccountIdLookup cannot resolve

    @property
    def signed(self) -> bool:
        return self.signer is not None

    @property
    def length(self) -> int:
        return len(self.encoded)


def decode_extrinsic(xt: bytes) -> Extrinsic:
    """Decode the envelope of ``compact(len) ‖ body``; the call stays raw bytes."""
    r = Reader(xt)
    n = r.compact()
    if n != r.remaining():
        raise CodecError("extrinsic length prefix does not match its body")
    version = r.u8()
    if version in (0x04, 0x05):  # bare, format v4 or v5
        return Extrinsic(encoded=xt, call=xt[r.pos :])
    if version != 0x84:
        raise CodecError(f"unsupported extrinsic version byte 0x{version:02x}")
    address = r.u8()
    if address == 0x00:  # Id
        signer: bytes | None = r.take(32)
    elif address == 0x01:  # Index(Compact<()>)
        signer = None
    elif address == 0x02:  # Raw(Vec<u8>)
        r.vec_u8()
        signer = None
    elif address == 0x03:  # Address32
        r.take(32)
        signer = None
    elif address == 0x04:  # Address20
        r.take(20)
        signer = None
    else:
        raise CodecError("invalid MultiAddress")
    scheme = r.u8()
    length = SIGNATURE_LENGTH.get(scheme)
    if length is None:
        raise CodecError("unknown MultiSignature variant")
    signature = r.take(length)
    extra_start = r.pos
    era = decode_era(r)
    nonce = r.compact_u32()
    tip = r.compact_u128()
    extra = xt[extra_start : r.pos]
    return Extrinsic(
        encoded=xt,
        call=xt[r.pos :],
        signer=signer if signer is not None else b"",
        unresolvable=signer is None,
        scheme=scheme,
        signature=signature,
        era=era,
        nonce=nonce,
        tip=tip,
        extra=extra,
    )


def signed_payload(
    call: bytes, extra: bytes, spec_version: int, tx_version: int, genesis_hash: bytes, era_hash: bytes
) -> bytes:
    """The bytes a signer signs: blake2-256 of the payload if it exceeds 256 bytes."""
    payload = call + extra + u32(spec_version) + u32(tx_version) + genesis_hash + era_hash
    if len(payload) > 256:
        return blake2_256(payload)
    return payload


def encode_signed(
    signer: bytes, scheme: int, signature: bytes, era: Era, nonce: int, tip: int, call: bytes
) -> bytes:
    """Encode a signed v4 extrinsic (for tests and tools)."""
    body = b"\x84\x00" + signer + bytes((scheme,)) + signature + era.encode() + compact(nonce) + compact(tip) + call
    return compact(len(body)) + body


def encode_unsigned(call: bytes) -> bytes:
    body = b"\x04" + call
    return compact(len(body)) + body
