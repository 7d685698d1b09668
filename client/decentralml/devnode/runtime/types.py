"""FRAME records the runtime reads and writes, with hand-written codecs."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from decentralml.primitives.scale import compact

_ACCOUNT = struct.Struct("<IIII")
FLAGS_NEW_LOGIC = 1 << 127


@dataclass(slots=True)
class AccountInfo:
    """``frame_system::AccountInfo<u32, pallet_balances::AccountData<u128>>`` (80 bytes)."""

    nonce: int = 0
    consumers: int = 0
    providers: int = 0
    sufficients: int = 0
    free: int = 0
    reserved: int = 0
    frozen: int = 0
    flags: int = FLAGS_NEW_LOGIC

    def encode(self) -> bytes:
        return (
            _ACCOUNT.pack(self.nonce, self.consumers, self.providers, self.sufficients)
            + self.free.to_bytes(16, "little")
            + self.reserved.to_bytes(16, "little")
            + self.frozen.to_bytes(16, "little")
            + self.flags.to_bytes(16, "little")
        )

    @classmethod
    def decode(cls, data: bytes) -> AccountInfo:
        nonce, consumers, providers, sufficients = _ACCOUNT.unpack_from(data, 0)
        return cls(
            nonce,
            consumers,
            providers,
            sufficients,
            int.from_bytes(data[16:32], "little"),
            int.from_bytes(data[32:48], "little"),
            int.from_bytes(data[48:64], "little"),
            int.from_bytes(data[64:80], "little"),
        )

    def data_is_default(self) -> bool:
        return self.free == 0 and self.reserved == 0 and self.frozen == 0 and self.flags == FLAGS_NEW_LOGIC


class DispatchClass(IntEnum):
    NORMAL = 0
    OPERATIONAL = 1
    MANDATORY = 2


@dataclass(frozen=True, slots=True)
class Weight:
    ref_time: int = 0
    proof_size: int = 0

    def __add__(self, other: Weight) -> Weight:
        return Weight(self.ref_time + other.ref_time, self.proof_size + other.proof_size)

    def encode(self) -> bytes:
        return compact(self.ref_time) + compact(self.proof_size)

    def min(self, other: Weight) -> Weight:
        return Weight(min(self.ref_time, other.ref_time), min(self.proof_size, other.proof_size))


@dataclass(frozen=True, slots=True)
class DispatchInfo:
    """Weight, class and whether the sender pays, as ``GetDispatchInfo`` reports them."""

    weight: Weight
    dispatch_class: DispatchClass = DispatchClass.NORMAL
    pays_fee: bool = True

    def encode_event_info(self, total_weight: Weight) -> bytes:
        """``DispatchEventInfo {weight, class, pays_fee}`` (Pays::Yes = 0)."""
        return total_weight.encode() + bytes((int(self.dispatch_class), 0 if self.pays_fee else 1))


class DispatchFailure(Exception):
    """A dispatch failed; ``encoded`` is the SCALE ``DispatchError``."""

    def __init__(self, encoded: bytes, reason: str = "") -> None:
        super().__init__(reason or encoded.hex())
        self.encoded = encoded
        self.reason = reason


# sp_runtime::DispatchError variants used here (index in the enum).
BAD_ORIGIN = b"\x02"
CONSUMER_REMAINING = b"\x04"
NO_PROVIDERS = b"\x05"
TOO_MANY_CONSUMERS = b"\x06"


class TokenError(IntEnum):
    FUNDS_UNAVAILABLE = 0
    ONLY_PROVIDER = 1
    BELOW_MINIMUM = 2
    CANNOT_CREATE = 3
    UNKNOWN_ASSET = 4
    FROZEN = 5
    UNSUPPORTED = 6
    CANNOT_CREATE_HOLD = 7
    NOT_EXPENDABLE = 8
    BLOCKED = 9


class ArithmeticError_(IntEnum):
    UNDERFLOW = 0
    OVERFLOW = 1
    DIVISION_BY_ZERO = 2


def token_error(err: TokenError) -> DispatchFailure:
    return DispatchFailure(b"\x07" + bytes((int(err),)), f"Token({err.name})")


def arithmetic_error(err: ArithmeticError_) -> DispatchFailure:
    return DispatchFailure(b"\x08" + bytes((int(err),)), f"Arithmetic({err.name})")


def bad_origin() -> DispatchFailure:
    return DispatchFailure(BAD_ORIGIN, "BadOrigin")


def module_error(pallet_index: int, error_index: int, name: str = "") -> DispatchFailure:
    return DispatchFailure(b"\x03" + bytes((pallet_index, error_index, 0, 0, 0)), name)
