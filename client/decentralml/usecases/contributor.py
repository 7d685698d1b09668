"""What a contributor does: take a slot, fetch the assets, send a result.

Also what anyone does with a result: fetch and verify it.
The ``inline_result`` convention is a JSON object ``{"metrics": {...}}``,
plus ``"lineage": <signed record>`` when a lineage record is sent (see
:mod:`decentralml.lineage.result`).
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decentralml.chain.client import ChainClient
from decentralml.chain.pallet import PALLET
from decentralml.chain.types import Receipt, Submission, Task
from decentralml.errors import (
    ChainError,
    DecentralMLError,
    IntegrityError,
    UsageError,
)
from decentralml.lineage import SignedLineage, encode_inline_result
from decentralml.primitives.budget import Budget
from decentralml.primitives.keypair import Keypair
from decentralml.primitives.localpaths import local_paths
from decentralml.primitives.staging import remove_path
from decentralml.storage.base import ArtifactStore, TransferObserver
from decentralml.storage.reference import Reference
from decentralml.usecases import preconditions
from decentralml.usecases.run_task import BUNDLE_SUBDIR, LAUNCHER, TaskWorkdir, write_layout

METRICS_FILE = "metrics.json"
START_SCRIPT = "start_task.sh"

#: Opens the store that can fetch a reference (the CLI builds it from its settings).
StoreOpener = Callable[[Reference], ArtifactStore]


@dataclass(frozen=True)
class AssignedTask:
    task_id: int
    submission_id: int
    deadline: int
    directory: Path
    start_script: Path | None
    receipt: Receipt

    @property
    def bundle_dir(self) -> Path:
        """The creator's bundle as downloaded (and the base model inside it)."""
        return self.directory / BUNDLE_SUBDIR


@dataclass(frozen=True)
class SentResult:
    task_id: int
    submission_id: int
    result: Reference
    inline_result: bytes
    lineage_digest: bytes | None
    accepted: bool
    reward: int | None
    receipt: Receipt


def _mark_scripts_executable(directory: Path) -> None:
    """Packs do not keep execute bits: restore them for the task's shell scripts."""
    for script in directory.glob("*.sh"):
        if script.is_file() and not script.is_symlink():
            mode = script.stat().st_mode
            os.chmod(script, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def fetch_task_assets(
    task: Task,
    open_store: StoreOpener,
    staging: Path,
    *,
    progress: TransferObserver | None = None,
    max_bytes: int | None = None,
) -> str | None:
    """Download the task's bundle into ``staging/bundle`` and its base model inside it, digests checked.

    Returns the base model's file name inside the bundle (None without one). Both downloads share
    the bundle budget (``max_bytes`` overrides its total). Raises UsageError when the bundle is a
    single file, StorageError/IntegrityError from the stores.
    """
    bundle_dir = staging / BUNDLE_SUBDIR
    budget = Budget.for_bundle().with_total(max_bytes)
    open_store(task.assets.bundle).get(task.assets.bundle, bundle_dir, progress=progress, budget=budget)
    if not bundle_dir.is_dir():
        raise UsageError(
            f"The assets of task {task.task_id} are a single file, not a bundle directory with a {START_SCRIPT}.",
            hint="Only directory bundles can be run; ask the task's creator.",
        )
    base_model_name: str | None = None
    if task.assets.base_model is not None:
        base_model_name = "base_model"
        if (bundle_dir / base_model_name).exists():
            base_model_name = f"base_model-{task.assets.base_model.digest_hex[:8]}"
        open_store(task.assets.base_model).get(task.assets.base_model, bundle_dir / base_model_name, progress=progress, budget=budget)
    _mark_scripts_executable(bundle_dir)
    return base_model_name


def lay_out_workdir(
    task: Task, submission_id: int, deadline: int, staging: Path, base_model_name: str | None, work_dir: Path
) -> Path:
    """Move ``staging`` (filled by :func:`fetch_task_assets`) to the submission's work directory and write
    the manifest and launcher (:func:`~decentralml.usecases.run_task.write_layout`); returns the directory."""
    final = work_dir / f"task-{task.task_id}-submission-{submission_id}"
    if final.exists():
        final = work_dir / f"task-{task.task_id}-submission-{submission_id}-{secrets.token_hex(3)}"
    os.rename(staging, final)
    write_layout(
        TaskWorkdir(
            path=final, task_id=task.task_id, submission_id=submission_id, deadline=deadline,
            bundle=task.assets.bundle, base_model=task.assets.base_model, base_model_name=base_model_name,
        )
    )
    return final


def assign_task(
    chain: ChainClient,
    keypair: Keypair,
    task_id: int,
    open_store: StoreOpener,
    work_dir: Path,
    *,
    progress: TransferObserver | None = None,
    max_bytes: int | None = None,
) -> AssignedTask:
    """Fetch and verify the task's assets, then take a slot on chain.

    The work directory is laid out as :mod:`decentralml.usecases.run_task` describes:
    the bundle in ``bundle/`` (base model inside), the manifest, and the client's
    launcher ``start_task.sh`` that runs the bundle's script in the sandbox.
    The assets are downloaded (and their digests checked) before the
    transaction, each within the bundle budget (``max_bytes`` overrides its
    total; see :mod:`decentralml.primitives.budget`), so a failed or refused
    download takes no slot; a failed transaction leaves no directory behind.
    """
    task = chain.get_task(task_id)
    preconditions.check_assignable(task, keypair.ss58_address, chain.block_number(), chain.task_submissions(task_id))
    with local_paths(work_dir):
        work_dir.mkdir(parents=True, exist_ok=True)
    staging = work_dir / f".task-{task_id}-{secrets.token_hex(4)}"
    try:
        with local_paths(work_dir):
            staging.mkdir()
        base_model_name = fetch_task_assets(task, open_store, staging, progress=progress, max_bytes=max_bytes)
        receipt = chain.submit(keypair, "assign_task", {"task_id": task_id})
    except BaseException:
        remove_path(staging)
        raise
    event = receipt.find_event(PALLET, "TaskAssigned")
    if event is None:
        remove_path(staging)
        raise ChainError(f"Transaction {receipt.extrinsic_hash} succeeded but emitted no TaskAssigned event.")
    submission_id = int(event["submission_id"])
    deadline = int(event.get("deadline", 0))
    final = lay_out_workdir(task, submission_id, deadline, staging, base_model_name, work_dir)
    has_script = (final / BUNDLE_SUBDIR / START_SCRIPT).is_file()
    launcher = final / LAUNCHER
    return AssignedTask(
        task_id=task_id,
        submission_id=submission_id,
        deadline=deadline,
        directory=final,
        start_script=launcher if has_script else None,
        receipt=receipt,
    )


def _norm(digest_hex: str) -> str:
    return digest_hex.lower().removeprefix("0x")


def local_digest(path: Path) -> bytes:
    """The digest the storage layer records for a file or directory (SHA-256 of its bytes or pack)."""
    from decentralml.primitives.digests import path_digest

    return path_digest(path)[0]


def read_metrics(path: Path) -> dict[str, Any]:
    """A metrics JSON object from a file (UsageError if it is not one)."""
    from decentralml.fl.weights import MAX_METRICS_BYTES, MAX_METRICS_DEPTH
    from decentralml.primitives import boundedjson

    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_METRICS_BYTES + 1)
        data = boundedjson.loads(raw, max_bytes=MAX_METRICS_BYTES, max_depth=MAX_METRICS_DEPTH)
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist.") from None
    except OSError as exc:
        raise UsageError(f"Cannot read {path}: {exc.strerror}.") from None
    except boundedjson.BoundedJSONError as exc:
        raise UsageError(f"{path} is refused: {exc}.", hint="Write a small JSON object of metrics.") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object of metrics.")
    return data


def encode_inline(metrics: Mapping[str, Any] | None, lineage: SignedLineage | None, *, limit: int) -> bytes:
    """The ``inline_result`` bytes (:func:`decentralml.lineage.encode_inline_result`), at most ``limit`` bytes.

    ``limit`` is the chain's ``MaxInlineResultLen`` (``chain.limits``); longer is a UsageError.
    """
    raw = encode_inline_result(metrics, lineage)
    if len(raw) > limit:
        raise UsageError(
            f"The inline result (metrics{' and lineage record' if lineage is not None else ''}) is {len(raw)} bytes"
            f" as JSON, over the chain's {limit}.",
            hint="Report fewer or shorter metrics; put the rest in the result directory.",
        )
    return raw


def send_result(
    chain: ChainClient,
    keypair: Keypair,
    store: ArtifactStore,
    submission_id: int,
    result_dir: Path,
    *,
    metrics: Mapping[str, Any] | None = None,
    lineage: SignedLineage | None = None,
    progress: TransferObserver | None = None,
) -> SentResult:
    """Upload RESULT_DIR and record its URI, digest, metrics and lineage digest.

    ``metrics`` defaults to ``RESULT_DIR/metrics.json`` when present.
    ``lineage`` is a :class:`decentralml.lineage.SignedLineage` whose record's
    output hash must be the uploaded result's digest.
    """
    if not result_dir.exists():
        raise UsageError(f"{result_dir} does not exist.", hint="Pass the directory holding your result.")
    submission = chain.get_submission(submission_id)
    preconditions.check_sendable(submission, keypair.ss58_address, chain.block_number())
    if metrics is None and result_dir.is_dir() and (result_dir / METRICS_FILE).is_file():
        metrics = read_metrics(result_dir / METRICS_FILE)
    inline = encode_inline(metrics, lineage, limit=chain.limits.max_inline_result_len)
    if lineage is not None and _norm(lineage.record.output_hash) != local_digest(result_dir).hex():
        raise IntegrityError(
            f"The lineage record's output hash is not the digest of {result_dir}: nothing was uploaded.",
            hint="Sign a lineage record for this result directory.",
        )
    ref = store.put(result_dir, progress=progress)
    try:
        chain.limits.check_uri(ref.uri)
    except UsageError as exc:
        exc.hint = f"{exc.hint} The upload stays at {ref.uri}."
        raise
    lineage_digest = None
    if lineage is not None:
        if _norm(lineage.record.output_hash) != ref.digest_hex:
            raise IntegrityError(
                f"The lineage record's output hash is not the digest of {result_dir} (0x{ref.digest_hex}).",
                hint=f"Sign a record for this result. The upload stays at {ref.uri}.",
            )
        lineage_digest = lineage.digest
    params = {
        "submission_id": submission_id,
        "result": ref.to_chain(),
        "inline_result": "0x" + inline.hex(),
        "lineage_digest": "0x" + lineage_digest.hex() if lineage_digest else None,
    }
    try:
        receipt = chain.submit(keypair, "send_task_result", params)
    except DecentralMLError as exc:
        note = f"Nothing on chain points at the upload {ref.uri} (digest 0x{ref.digest_hex})."
        exc.hint = f"{exc.hint} {note}" if exc.hint else note
        raise
    accepted = receipt.find_event(PALLET, "TaskResultAccepted")
    return SentResult(
        task_id=submission.task_id,
        submission_id=submission_id,
        result=ref,
        inline_result=inline,
        lineage_digest=lineage_digest,
        accepted=accepted is not None,
        reward=int(accepted["reward"]) if accepted and "reward" in accepted else None,
        receipt=receipt,
    )


def fetch_result(
    chain: ChainClient,
    submission_id: int,
    open_store: StoreOpener,
    dest: Path,
    *,
    progress: TransferObserver | None = None,
    max_bytes: int | None = None,
) -> tuple[Submission, Path]:
    """Download and verify a submission's result into ``dest`` (must not exist) within the task's
    result budget (:func:`result_budget`; ``max_bytes`` overrides its total).

    Raises UsageError when the submission has no result yet, IntegrityError (exit 14) when the
    result is over budget or does not match its digest; nothing is left at ``dest`` then.
    """
    submission = chain.get_submission(submission_id)
    if submission.result is None:
        raise UsageError(
            f"Submission {submission_id} has no result yet ({submission.status.value}).",
            hint="Wait for the worker to send it.",
        )
    budget = result_budget(chain.get_task(submission.task_id), open_store, progress=progress, max_bytes=max_bytes)
    path = open_store(submission.result).get(submission.result, dest, progress=progress, budget=budget)
    return submission, path


def result_budget(task: Task, open_store: StoreOpener, *, progress: TransferObserver | None = None,
                  max_bytes: int | None = None) -> Budget:
    """What one result of ``task`` may put on disk: :meth:`Budget.for_result` of its base model's size
    (a task without a base model: of 0 bytes, i.e. 1 MiB), ``max_bytes`` overriding the total.

    The chain does not record sizes, so without ``max_bytes`` the base model is downloaded (bundle
    budget, digest-checked) into a temporary directory to be measured, then removed.
    """
    base = task.assets.base_model
    if base is None or max_bytes is not None:
        return Budget.for_result(0).with_total(max_bytes)
    if base.size is not None:
        return Budget.for_result(base.size)
    with tempfile.TemporaryDirectory(prefix="decentralml-base-") as scratch:
        path = open_store(base).get(base, Path(scratch) / "base_model", progress=progress, budget=Budget.for_bundle())
        return Budget.for_result(directory_size(path))


def directory_size(path: Path) -> int:
    """Bytes of a file, or of the regular files under a directory (symbolic links not followed)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
