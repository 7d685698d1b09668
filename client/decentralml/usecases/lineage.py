"""What anyone does with a result's lineage: inspect a submission, verify a record file.

``inspect_result`` reads a submission (downloading its result when asked) and
verifies its lineage against the chain; ``verify_lineage_file`` checks a
signed record offline. Both raise :class:`~decentralml.errors.IntegrityError`
(exit 14) on the first mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from decentralml.chain.client import ChainClient
from decentralml.chain.types import Submission
from decentralml.errors import UsageError
from decentralml.lineage import LineageReport, verify, verify_result_lineage
from decentralml.primitives.ss58 import public_key_of
from decentralml.storage.base import TransferObserver
from decentralml.usecases.contributor import StoreOpener, fetch_result


@dataclass(frozen=True)
class InspectedResult:
    """A submission, where its result was downloaded (if it was) and its verified lineage (if it has one)."""

    submission: Submission
    downloaded: Path | None
    lineage: LineageReport | None


def inspect_result(
    chain: ChainClient,
    submission_id: int,
    *,
    open_store: StoreOpener | None = None,
    download: Path | None = None,
    progress: TransferObserver | None = None,
    max_bytes: int | None = None,
) -> InspectedResult:
    """Read submission ``submission_id``; with ``download`` fetch its result there (digest-checked,
    within the task's result budget, ``max_bytes`` overriding its total).

    When the submission has a ``lineage_digest``, its record is verified against
    the on-chain fields and, when downloaded, against the artifact; its
    ``code_hash`` must be the task's bundle digest and every parent must be the
    lineage digest of a submission of the task.
    """
    downloaded: Path | None = None
    if download is not None:
        if open_store is None:
            raise UsageError("Downloading a result needs a store to fetch it from.")
        submission, downloaded = fetch_result(chain, submission_id, open_store, download, progress=progress,
                                              max_bytes=max_bytes)
    else:
        submission = chain.get_submission(submission_id)
    report = None
    if submission.lineage_digest is not None:
        task = chain.get_task(submission.task_id)
        known_parents = {s.lineage_digest.hex() for s in chain.task_submissions(submission.task_id) if s.lineage_digest}
        report = verify_result_lineage(
            inline_result=submission.inline_result,
            lineage_digest=submission.lineage_digest,
            worker_public_key=public_key_of(submission.worker),
            task_id=submission.task_id,
            submission_id=submission.submission_id,
            result_digest=submission.result.digest if submission.result else None,
            output_path=downloaded,
            code_digest=task.assets.bundle.digest,
            known_parents=known_parents,
        )
    return InspectedResult(submission, downloaded, report)


def verify_lineage_file(
    record: Path,
    *,
    output: Path | None = None,
    expected_digest: bytes | None = None,
    expected_signer: bytes | str | None = None,
) -> LineageReport:
    """Verify a signed lineage record file: signature, and the expected digest, signer and artifact when given."""
    try:
        raw = Path(record).read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read the lineage file {record}: {exc.strerror}.") from None
    return verify(
        raw,
        output=output,
        onchain_digest=expected_digest,
        expected_signer=public_key_of(expected_signer) if expected_signer is not None else None,
    )
