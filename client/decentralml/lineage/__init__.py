"""Signed lineage records for compute steps (seed 000).

A participant describes each compute step in a :class:`LineageRecord` (input
data hash, parameters hash, code hash, output hash, timestamps, framework,
task and submission ids, signer key and scheme), signs it with
:func:`sign_record`, sends the signed record in ``inline_result`` and its
SHA-256 (:func:`record_digest`) as ``lineage_digest`` with
``send_task_result``.

For ``decentralml show-result``: call :func:`verify_result_lineage` with the
submission's on-chain fields, then render with :func:`render_lineage` (rich
table), :func:`lineage_rows` or :func:`report_to_dict` (``--json``). Every
mismatch raises :class:`~decentralml.errors.IntegrityError` (exit 14).
"""

from decentralml.lineage.hashing import digest_path, sha256_arrays, sha256_bytes, sha256_file, sha256_params
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
    lineage_rows,
    render_lineage,
    report_to_dict,
    verify_result_lineage,
)
from decentralml.lineage.signing import SignedLineage, sign_record, signer_of, verify_signature
from decentralml.lineage.verify import LineageCheck, LineageReport, verify

__all__ = [
    "LineageCheck",
    "LineageRecord",
    "LineageReport",
    "SignatureScheme",
    "SignedLineage",
    "canonical_json",
    "decode_inline_result",
    "digest_path",
    "encode_inline_result",
    "lineage_rows",
    "record_bytes",
    "record_digest",
    "render_lineage",
    "report_to_dict",
    "sha256_arrays",
    "sha256_bytes",
    "sha256_file",
    "sha256_params",
    "sign_record",
    "signer_of",
    "verify",
    "verify_result_lineage",
    "verify_signature",
]
