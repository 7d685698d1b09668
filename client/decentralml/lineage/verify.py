"""Verifying a signed lineage record against its artifacts and the chain.

:func:`verify` raises :class:`~decentralml.errors.IntegrityError` with a
one-line message on the first failed check, and otherwise returns a
:class:`LineageReport` listing what was checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Collection

from decentralml.errors import IntegrityError
from decentralml.lineage.hashing import sha256_bytes
from decentralml.lineage.signing import SignedLineage, verify_signature
from decentralml.primitives.digests import path_digest


@dataclass(frozen=True)
class LineageCheck:
    """One passed check: its name and what was compared."""

    name: str
    detail: str


@dataclass(frozen=True)
class LineageReport:
    """A verified lineage record and the checks it passed."""

    signed: SignedLineage
    checks: tuple[LineageCheck, ...]

    @property
    def digest_hex(self) -> str:
        return self.signed.digest.hex()


def _artifact_hash(artifact: Path | bytes) -> str:
    if isinstance(artifact, (bytes, bytearray)):
        return sha256_bytes(bytes(artifact))
    return path_digest(Path(artifact))[0].hex()


def _artifact_check(name: str, artifact: Path | bytes, expected: str, mismatch: str) -> LineageCheck:
    """The passed check for ``artifact``; IntegrityError (``mismatch`` formatted) if it does not hash to ``expected``."""
    actual = _artifact_hash(artifact)
    if actual != expected:
        raise IntegrityError(mismatch.format(actual=actual, expected=expected))
    return LineageCheck(name, actual)


def verify(
    signed: SignedLineage | bytes | str,
    *,
    output: Path | bytes | None = None,
    input: Path | bytes | None = None,
    output_digest: bytes | None = None,
    code_digest: bytes | None = None,
    onchain_digest: bytes | None = None,
    expected_signer: bytes | None = None,
    task_id: int | None = None,
    submission_id: int | None = None,
    known_parents: Collection[str] | None = None,
) -> LineageReport:
    """Check a lineage record; raise :class:`IntegrityError` on the first mismatch.

    ``input`` is the input data (a contributor re-checking its own data);
    ``output`` is the artifact itself (bytes, or a file or directory hashed
    as the storage layer does: :func:`decentralml.primitives.digests.path_digest`); ``output_digest`` a
    digest already known for it (e.g. the on-chain result ``AssetRef``);
    ``onchain_digest`` the submission's ``lineage_digest``;
    ``expected_signer`` the worker's 32-byte public key; ``code_digest`` the
    task's bundle digest (the record's ``code_hash`` must equal it);
    ``known_parents`` the lineage digests (hex) that exist (every parent must be one).
    """
    if not isinstance(signed, SignedLineage):
        signed = SignedLineage.from_json(signed)
    record = signed.record
    checks: list[LineageCheck] = []

    verify_signature(signed)
    checks.append(LineageCheck("signature", f"{record.scheme.value} by {record.signer}"))

    digest = signed.digest
    if onchain_digest is not None:
        if bytes(onchain_digest) != digest:
            raise IntegrityError(
                f"Lineage record digest {digest.hex()} does not match the on-chain lineage_digest "
                f"{bytes(onchain_digest).hex()}: the record is not the one submitted."
            )
        checks.append(LineageCheck("on-chain digest", digest.hex()))

    if expected_signer is not None:
        if bytes(expected_signer).hex() != record.signer:
            raise IntegrityError(
                f"Lineage record is signed by {record.signer}, not by the submission's worker {bytes(expected_signer).hex()}."
            )
        checks.append(LineageCheck("signer is worker", record.signer))

    if task_id is not None and record.task_id != task_id:
        raise IntegrityError(f"Lineage record is for task {record.task_id}, not task {task_id}.")
    if submission_id is not None and record.submission_id != submission_id:
        raise IntegrityError(f"Lineage record is for submission {record.submission_id}, not submission {submission_id}.")
    if task_id is not None or submission_id is not None:
        checks.append(LineageCheck("task/submission", f"task {record.task_id}, submission {record.submission_id}"))

    if code_digest is not None:
        if bytes(code_digest).hex() != record.code_hash:
            raise IntegrityError(
                f"Lineage code hash {record.code_hash} does not match the task's bundle digest {bytes(code_digest).hex()}."
            )
        checks.append(LineageCheck("code hash", record.code_hash))

    if known_parents is not None:
        known = set(known_parents)
        for parent in record.parents:
            if parent not in known:
                raise IntegrityError(
                    f"Lineage parent {parent} resolves to no lineage record on chain: the record claims a history"
                    " that does not exist."
                )
        checks.append(LineageCheck("parents resolve", ", ".join(record.parents) or "none"))

    if output_digest is not None:
        if bytes(output_digest).hex() != record.output_hash:
            raise IntegrityError(
                f"Lineage output hash {record.output_hash} does not match the result digest {bytes(output_digest).hex()}: "
                "the result was replaced."
            )
        checks.append(LineageCheck("output hash = result digest", record.output_hash))

    if output is not None:
        checks.append(_artifact_check(
            "output artifact", output, record.output_hash,
            "Output artifact hashes to {actual}, but its lineage record says {expected}: "
            "the artifact was tampered with, do not use it.",
        ))

    if input is not None:
        checks.append(_artifact_check(
            "input data", input, record.input_hash,
            "Input data hashes to {actual}, but the lineage record says {expected}: the record is about other data.",
        ))

    return LineageReport(signed=signed, checks=tuple(checks))
