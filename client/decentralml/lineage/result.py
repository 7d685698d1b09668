"""A submission's ``inline_result`` (its codec) and the verification of the lineage it carries.

``inline_result`` is a compact JSON object (sorted keys, UTF-8)
``{"metrics": {...}}``, plus ``"lineage": <signed record>`` when the worker
signed one; the record's digest goes on chain as ``lineage_digest``. The
chain bounds its length (``MaxInlineResultLen``, checked by the use case that
sends it). The record's
``output_hash`` is the storage digest of the result artifact, so the chain of
trust is: worker signature -> record -> on-chain ``lineage_digest`` and
on-chain result ``AssetRef.digest`` -> the artifact bytes (which the storage
layer checks on download).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Collection, Mapping

from decentralml.errors import IntegrityError
from decentralml.lineage.signing import SignedLineage
from decentralml.lineage.verify import LineageReport, verify
from decentralml.primitives.inline_result import INLINE_LINEAGE_KEY, INLINE_METRICS_KEY, inline_body, inline_metrics
from decentralml.primitives.ss58 import public_key_of


def encode_inline_result(metrics: Mapping[str, Any] | None = None, lineage: SignedLineage | None = None) -> bytes:
    """The ``inline_result`` bytes carrying ``metrics`` and, when given, a signed lineage record."""
    body: dict[str, Any] = {INLINE_METRICS_KEY: dict(metrics or {})}
    if lineage is not None:
        body[INLINE_LINEAGE_KEY] = lineage.to_dict()
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def decode_inline_result(raw: bytes | None) -> tuple[SignedLineage | None, dict[str, Any]]:
    """``(signed record or None, metrics)`` from an ``inline_result``; malformed lineage is an IntegrityError."""
    body = inline_body(raw)
    metrics = inline_metrics(raw)
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
    code_digest: bytes | None = None,
    known_parents: Collection[str] | None = None,
) -> LineageReport:
    """Verify a submission's lineage from its on-chain fields; raise IntegrityError on any mismatch.

    ``worker_public_key`` is the submission's worker (SS58 address as the
    chain client reports it, or raw public key). Checks the signature, that the record's digest is the on-chain
    ``lineage_digest``, that the signer is the submission's worker, the
    task/submission ids, that the record's output hash is the on-chain result
    digest and, when ``output_path`` is given (a downloaded artifact), that it
    hashes to the same value (the storage layer's digest of a file or directory);
    with ``code_digest`` (the task's bundle digest) that the record's code hash
    is that bundle, and with ``known_parents`` that every parent names a
    lineage record that exists.
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
        code_digest=code_digest,
        known_parents=known_parents,
    )
