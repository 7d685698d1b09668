"""Transaction validity outcomes, worded as a real node's JSON-RPC errors."""

from __future__ import annotations

from dataclasses import dataclass, field

INVALID = (1010, "Invalid Transaction")
UNKNOWN = (1011, "Unknown Transaction Validity")
BANNED = (1012, "Transaction is temporarily banned")
VERIFICATION = 1002


@dataclass(frozen=True)
class InvalidTransaction(Exception):
    """The pool must refuse the transaction: ``code``/``message``/``data`` of the RPC error.

    1010 Invalid Transaction, 1011 Unknown Transaction Validity, 1012 temporarily
    banned (duplicate; raised by the node's pool), 1002 verification error
    (bytes that do not decode as an extrinsic). ``data`` is None when a real
    node sends no data field.
    """

    code: int
    message: str
    data: str | None = None

    def __str__(self) -> str:
        return f"{self.code} {self.message}: {self.data}" if self.data else f"{self.code} {self.message}"


def invalid(data: str) -> InvalidTransaction:
    return InvalidTransaction(INVALID[0], INVALID[1], data)


BAD_PROOF = "Transaction has a bad signature"
STALE = "Transaction is outdated"
FUTURE = "Transaction will be valid in the future"
PAYMENT = "Inability to pay some fees (e.g. account balance too low)"
ANCIENT_BIRTH_BLOCK = "Transaction has an ancient birth block"
EXHAUSTS_RESOURCES = "Transaction would exhaust the block limits"
CALL = "Transaction call is not expected"
BAD_SIGNER = "Invalid signing address"
MANDATORY_VALIDATION = "Transaction dispatch is mandatory; transactions must not be validated."
NO_UNSIGNED_VALIDATOR = "Could not find an unsigned validator for the unsigned transaction"
CANNOT_LOOKUP = "Could not lookup information required to validate the transaction"


def undecodable(detail: str) -> InvalidTransaction:
    """Bytes that are not an extrinsic of this runtime (a real node's verification error)."""
    return InvalidTransaction(
        VERIFICATION, "Verification Error: Runtime error: Could not decode `Block::Extrinsic`", detail
    )


def cannot_lookup() -> InvalidTransaction:
    """The signer's address does not resolve to an account (only ``MultiAddress::Id`` does)."""
    return InvalidTransaction(UNKNOWN[0], UNKNOWN[1], CANNOT_LOOKUP)


def runtime_panicked(exc: BaseException) -> InvalidTransaction:
    """An unexpected failure inside the runtime while applying a transaction (a bug)."""
    return InvalidTransaction(
        VERIFICATION, "Verification Error: Runtime error: Execution failed: Runtime panicked", repr(exc)
    )


def no_unsigned_validator() -> InvalidTransaction:
    return InvalidTransaction(UNKNOWN[0], UNKNOWN[1], NO_UNSIGNED_VALIDATOR)


def temporarily_banned() -> InvalidTransaction:
    """For the node's pool: a transaction seen recently is submitted again."""
    return InvalidTransaction(BANNED[0], BANNED[1], None)


@dataclass(frozen=True)
class ValidTransaction:
    """What the pool needs to order a valid transaction (sp_runtime's ValidTransaction).

    ``provides``/``requires`` are tags: ``SCALE((sender, nonce))``; ``requires``
    is non-empty only for a future nonce (when validation allowed it).
    ``hash`` is blake2-256 of the whole encoded extrinsic.
    """

    sender: bytes
    nonce: int
    priority: int
    longevity: int
    provides: tuple[bytes, ...]
    requires: tuple[bytes, ...] = field(default=())
    propagate: bool = True
    hash: bytes = b""
    fee: int = 0
