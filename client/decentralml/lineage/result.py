"""Lineage carried with a task result, and its verification for ``show-result``.

A worker sends its signed lineage record in the submission's
``inline_result`` as a JSON object ``{"lineage": <signed record>, "metrics":
{...}}`` and the record's digest as ``lineage_digest``. The record's
``output_hash`` is the storage digest of the result artifact, so the chain of
trust is: worker signature -> record -> on-chain ``lineage_digest`` and
on-chain result ``AssetRef.digest`` -> the artifact bytes (which the storage
layer checks on download).

Entry point for the CLI: :func:`verify_result_lineage` (then
:func:`lineage_rows` / :func:`render_lineage` / :func:`report_to_dict`).
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any, Callable, Mapping

from decentralml.errors import IntegrityError, UsageError
from decentralml.lineage.signing import SignedLineage
from decentralml.lineage.verify import LineageReport, verify

INLINE_LINEAGE_KEY = "lineage"
INLINE_METRICS_KEY = "metrics"
MAX_INLINE_RESULT_LEN = 4096


def encode_inline_result(signed: SignedLineage, metrics: Mapping[str, Any] | None = None) -> bytes:
    """The ``inline_result`` bytes carrying a signed record and optional metrics."""
    body: dict[str, Any] = {INLINE_LINEAGE_KEY: signed.to_dict()}
    if metrics:
        body[INLINE_METRICS_KEY] = dict(metrics)
    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
    if len(raw) > MAX_INLINE_RESULT_LEN:
        raise UsageError(f"Inline result is {len(raw)} bytes, over the chain's {MAX_INLINE_RESULT_LEN}: report fewer metrics.")
    return raw


def decode_inline_result(raw: bytes | None) -> tuple[SignedLineage | None, dict[str, Any]]:
    """``(signed record or None, metrics)`` from an ``inline_result``; malformed lineage is an IntegrityError."""
    if not raw:
        return None, {}
    try:
        body = json.loads(bytes(raw))
    except (ValueError, UnicodeDecodeError):
        return None, {}
    if not isinstance(body, dict):
        return None, {}
    metrics = body.get(INLINE_METRICS_KEY)
    metrics = dict(metrics) if isinstance(metrics, dict) else {}
    if INLINE_LINEAGE_KEY not in body:
        return None, metrics
    return SignedLineage.from_dict(body[INLINE_LINEAGE_KEY]), metrics


def verify_result_lineage(
    *,
    inline_result: bytes | None,
    lineage_digest: bytes | None,
    worker_public_key: bytes | str | None,
    task_id: int,
    submission_id: int,
    result_digest: bytes | None,
    output_path: Path | None = None,
    hasher: Callable[[Path], str] | None = None,
) -> LineageReport:
    """Verify a submission's lineage from its on-chain fields; raise IntegrityError on any mismatch.

    ``worker_public_key`` is the submission's worker (SS58 address as the
    chain client reports it, or raw public key). Checks the signature, that the record's digest is the on-chain
    ``lineage_digest``, that the signer is the submission's worker, the
    task/submission ids, that the record's output hash is the on-chain result
    digest and, when ``output_path`` is given (a downloaded artifact), that it
    hashes to the same value with ``hasher`` (the storage layer's digest).
    """
    if lineage_digest is None:
        raise IntegrityError(f"Submission {submission_id} has no lineage digest on chain: its result cannot be traced.")
    signed, _ = decode_inline_result(inline_result)
    if signed is None:
        raise IntegrityError(
            f"Submission {submission_id} has a lineage digest on chain but no lineage record in its inline result."
        )
    return verify(
        signed,
        onchain_digest=bytes(lineage_digest),
        expected_signer=public_key_of(worker_public_key) if worker_public_key is not None else None,
        task_id=task_id,
        submission_id=submission_id,
        output_digest=bytes(result_digest) if result_digest is not None else None,
        output=output_path,
        hasher=hasher,
    )


def public_key_of(account: bytes | str) -> bytes:
    """32-byte public key of an account given as bytes, 0x hex or an SS58 address."""
    if isinstance(account, (bytes, bytearray)):
        return bytes(account)
    if account.startswith("0x"):
        return bytes.fromhex(account[2:])
    from scalecodec.utils.ss58 import ss58_decode

    try:
        return bytes.fromhex(ss58_decode(account))
    except ValueError as exc:
        raise UsageError(f"{account!r} is not an SS58 address or a 0x public key.") from exc


def _iso(ms: int) -> str:
    return _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc).isoformat(timespec="milliseconds")


def lineage_rows(report: LineageReport) -> list[tuple[str, str]]:
    """``(field, value)`` rows describing a verified record, for tables."""
    record = report.signed.record
    rows = [
        ("lineage digest", report.digest_hex),
        ("step", record.step),
        ("framework", record.framework),
        ("task / submission", f"{record.task_id} / {record.submission_id if record.submission_id is not None else '-'}"),
        ("input hash", record.input_hash),
        ("params hash", record.params_hash),
        ("code hash", record.code_hash),
        ("output hash", record.output_hash),
        ("started", _iso(record.started_at_ms)),
        ("finished", _iso(record.finished_at_ms)),
        ("signer", f"{record.signer} ({record.scheme.value})"),
    ]
    rows.extend(("parent", parent) for parent in record.parents)
    rows.extend((f"verified: {check.name}", check.detail) for check in report.checks)
    return rows


def report_to_dict(report: LineageReport) -> dict[str, Any]:
    """JSON-ready form of a verified lineage (for ``--json``)."""
    return {
        "digest": report.digest_hex,
        "record": report.signed.record.to_dict(),
        "signature": "0x" + report.signed.signature.hex(),
        "verified": [check.name for check in report.checks],
    }


def render_lineage(report: LineageReport) -> Any:
    """A ``rich`` table of a verified lineage record."""
    from decentralml.untrusted import UntrustedTable

    table = UntrustedTable(title="Lineage (verified)", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in lineage_rows(report):
        table.add_row(name, value)
    return table
