"""The lineage record: what a compute step read, ran and wrote, in canonical form.

A :class:`LineageRecord` is pure data. Its canonical serialisation is
deterministic JSON (sorted keys, no insignificant whitespace, UTF-8, integers
only: floats are refused so that every implementation produces the same
bytes). The SHA-256 of those bytes is the record's digest: the 32 bytes a
worker puts on chain as ``lineage_digest`` with ``send_task_result``.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from decentralml.errors import IntegrityError, UsageError

RECORD_VERSION = 1
_HEX32 = re.compile(r"^[0-9a-f]{64}$")


class SignatureScheme(str, enum.Enum):
    """Key schemes a participant may sign a lineage record with."""

    SR25519 = "sr25519"
    ED25519 = "ed25519"
    ECDSA = "ecdsa"  # signer = the 32-byte account id; the key is recovered from the 65-byte signature


@dataclass(frozen=True)
class LineageRecord:
    """One compute step of one submission.

    Hashes are lowercase hex SHA-256 digests (64 characters). Times are Unix
    milliseconds. ``submission_id`` is ``None`` for a step that is not a
    submission (the initiator's aggregation). ``parents`` lists the lineage digests of earlier records this
    step built on (the previous turn in round robin, the participants'
    results for an initiator), so records chain into a lineage graph.
    """

    task_id: int
    submission_id: int | None
    step: str
    framework: str
    input_hash: str
    params_hash: str
    code_hash: str
    output_hash: str
    started_at_ms: int
    finished_at_ms: int
    signer: str
    scheme: SignatureScheme
    parents: tuple[str, ...] = field(default_factory=tuple)
    version: int = RECORD_VERSION

    def __post_init__(self) -> None:
        for name in ("input_hash", "params_hash", "code_hash", "output_hash"):
            _require_hex32(name, getattr(self, name))
        for parent in self.parents:
            _require_hex32("parents", parent)
        if not re.fullmatch(r"[0-9a-f]{64}", self.signer):
            raise UsageError(f"Lineage signer must be a 32-byte public key in hex, got {self.signer!r}.")
        for name in ("task_id", "submission_id", "started_at_ms", "finished_at_ms", "version"):
            value = getattr(self, name)
            if name == "submission_id" and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise UsageError(f"Lineage field {name} must be a non-negative integer, got {value!r}.")
        if self.finished_at_ms < self.started_at_ms:
            raise UsageError("Lineage record finishes before it starts: check the clock.")
        if not self.step or not self.framework:
            raise UsageError("Lineage record needs a step name and a framework.")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready mapping (enums as their values, tuples as lists)."""
        data = asdict(self)
        data["scheme"] = self.scheme.value
        data["parents"] = list(self.parents)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LineageRecord":
        """Parse a mapping produced by :meth:`to_dict`; unknown or missing keys are an integrity failure."""
        expected = {f for f in cls.__dataclass_fields__}
        keys = set(data)
        if keys != expected:
            missing, extra = sorted(expected - keys), sorted(keys - expected)
            raise IntegrityError(f"Lineage record is malformed (missing {missing}, unexpected {extra}): do not trust it.")
        if data["version"] != RECORD_VERSION:
            raise IntegrityError(f"Lineage record version {data['version']!r} is not supported (expected {RECORD_VERSION}).")
        try:
            return cls(
                task_id=data["task_id"],
                submission_id=data["submission_id"],
                step=str(data["step"]),
                framework=str(data["framework"]),
                input_hash=data["input_hash"],
                params_hash=data["params_hash"],
                code_hash=data["code_hash"],
                output_hash=data["output_hash"],
                started_at_ms=data["started_at_ms"],
                finished_at_ms=data["finished_at_ms"],
                signer=data["signer"],
                scheme=SignatureScheme(data["scheme"]),
                parents=tuple(data["parents"]),
                version=data["version"],
            )
        except (UsageError, ValueError, TypeError) as exc:
            message = exc.one_line() if isinstance(exc, UsageError) else str(exc)
            raise IntegrityError(f"Lineage record is malformed: {message}") from exc


def _require_hex32(name: str, value: object) -> None:
    if not isinstance(value, str) or not _HEX32.match(value):
        raise UsageError(f"Lineage field {name} must be a lowercase hex SHA-256 digest, got {value!r}.")


def canonical_json(value: Any) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, compact separators, no floats, no NaN."""
    _refuse_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise UsageError("Canonical JSON refuses floats: encode the value as an integer or a string.")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise UsageError("Canonical JSON needs string keys.")
            _refuse_floats(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _refuse_floats(item)


def record_bytes(record: LineageRecord) -> bytes:
    """The canonical serialisation of a record (what is hashed and signed)."""
    return canonical_json(record.to_dict())


def record_digest(record: LineageRecord) -> bytes:
    """SHA-256 of the canonical record: the on-chain ``lineage_digest``."""
    return hashlib.sha256(record_bytes(record)).digest()
