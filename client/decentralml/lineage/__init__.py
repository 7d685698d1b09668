"""Signed lineage records for compute steps.

A participant describes each compute step in a :class:`LineageRecord` (input
data hash, parameters hash, code hash, output hash, timestamps, framework,
task and submission ids, signer key and scheme), signs it with
:func:`sign_record`, sends the signed record in ``inline_result`` and its
SHA-256 (:func:`record_digest`) as ``lineage_digest`` with
``send_task_result``.

:func:`verify_result_lineage` checks a submission's record against its
on-chain fields (and, optionally, the downloaded artifact); :func:`verify`
checks a record on its own. Every mismatch raises
:class:`~decentralml.errors.IntegrityError` (exit 14).
"""

from decentralml.lineage.hashing import sha256_arrays, sha256_bytes, sha256_params
from decentralml.lineage.record import (
    LineageRecord,
    SignatureScheme,
    canonical_json,
    record_bytes,
    record_digest,
)
from decentralml.lineage.result import (
    decode_inline_result,
    encode_inline_result,
    inline_metrics,
    verify_result_lineage,
)
from decentralml.lineage.signing import SignedLineage, sign_record, sign_step, signer_of, verify_signature
from decentralml.lineage.verify import LineageCheck, LineageReport, verify

__all__ = [
    "LineageCheck",
    "LineageRecord",
    "LineageReport",
    "SignatureScheme",
    "SignedLineage",
    "canonical_json",
    "decode_inline_result",
    "encode_inline_result",
    "inline_metrics",
    "record_bytes",
    "record_digest",
    "sha256_arrays",
    "sha256_bytes",
    "sha256_params",
    "sign_record",
    "sign_step",
    "signer_of",
    "verify",
    "verify_result_lineage",
    "verify_signature",
]
