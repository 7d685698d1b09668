"""Federated rounds on the chain: judge pending results, federate accepted ones, open the next round.

No printing; frozen records out. Results are fetched through the storage layer (digest checked)
and read as data only; the creator's bundle supplies evaluation and validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decentralml.chain.client import ChainClient
from decentralml.chain.types import Submission, SubmissionStatus, Task, TaskStatus, TaskType, ValidationStrategy
from decentralml.errors import DecentralMLError, IntegrityError, TrainingError, UsageError
from decentralml.fl.bundle import CreatorBundle
from decentralml.fl.strategy import Strategy, Update
from decentralml.fl.validation import Evaluation, ValidationReport
from decentralml.fl.weights import (
    METRICS_FILE,
    WEIGHTS_FILE,
    ModelSpec,
    load_result_dir,
    read_spec,
    save_weights,
)
from decentralml.primitives.digests import file_digest
from decentralml.storage.base import ArtifactStore, TransferObserver, remove_path
from decentralml.usecases import creator as creator_uc
from decentralml.usecases.contributor import StoreOpener, fetch_result


@dataclass(frozen=True)
class RoundBase:
    """A round's task and its base model (downloaded and digest-checked)."""

    task: Task
    path: Path
    spec: ModelSpec
    digest: str


@dataclass(frozen=True)
class Judgement:
    """The creator's evaluation of one pending result, and what was done on chain."""

    submission_id: int
    worker: str
    report: ValidationReport
    decision: str  # "accepted", "rejected" or "left to the creator"
    reward: int | None = None


@dataclass(frozen=True)
class RoundContribution:
    submission_id: int
    worker: str
    num_samples: int
    used: bool


@dataclass(frozen=True)
class RoundResult:
    """A federated round's new global model."""

    task_id: int
    strategy: str
    contributions: tuple[RoundContribution, ...]
    evaluation: Evaluation
    global_model: Path
    digest: str


def fetch_base_model(chain: ChainClient, task_id: int, open_store: StoreOpener, work_dir: Path,
                     progress: TransferObserver | None = None) -> RoundBase:
    """The task's base model, downloaded once into ``work_dir`` (reused when its digest matches)."""
    task = chain.get_task(task_id)
    if task.task_type is not TaskType.MODEL_CONTRIBUTOR:
        raise UsageError(f"Task {task_id} is a {task.task_type.value} task; federated rounds are model-contributor tasks.")
    ref = task.assets.base_model
    if ref is None:
        raise UsageError(f"Task {task_id} has no base model.", hint="Create federated tasks with --base-model.")
    if ref.is_directory:
        raise UsageError(f"Task {task_id}'s base model is a directory; a round needs one safetensors file.")
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / f"task-{task_id}-base.safetensors"
    if not (path.is_file() and file_digest(path)[0].hex() == ref.digest_hex):
        remove_path(path)
        open_store(ref).get(ref, path, progress=progress)
    return RoundBase(task, path, read_spec(path), ref.digest_hex)


def _fresh(path: Path) -> Path:
    remove_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _download(chain: ChainClient, submission: Submission, open_store: StoreOpener, dest: Path,
              progress: TransferObserver | None) -> Path:
    _, path = fetch_result(chain, submission.submission_id, open_store, _fresh(dest), progress=progress)
    return path


def evaluate_result(chain: ChainClient, submission: Submission, base: RoundBase, bundle: CreatorBundle,
                    open_store: StoreOpener, work_dir: Path, progress: TransferObserver | None = None) -> ValidationReport:
    """Fetch one result (digest-checked) and run the creator's validation function on it."""
    dest = work_dir / f"task-{base.task.task_id}" / f"submission-{submission.submission_id}"
    try:
        path = _download(chain, submission, open_store, dest, progress)
    except IntegrityError as exc:
        return ValidationReport(False, f"download refused: {exc.message}")
    if not path.is_dir() or {p.name for p in path.iterdir()} != {WEIGHTS_FILE, METRICS_FILE}:
        return ValidationReport(False, f"the result must be a directory of exactly {WEIGHTS_FILE} and {METRICS_FILE}")
    return bundle.validate_contribution(path / WEIGHTS_FILE, (path / METRICS_FILE).read_bytes(), base.path)


def judge_pending(chain: ChainClient, keypair: Any, task_id: int, bundle: CreatorBundle, open_store: StoreOpener,
                  work_dir: Path, *, decide: bool | None = None, progress: TransferObserver | None = None) -> list[Judgement]:
    """Evaluate every pending result of a task.

    ``decide=None`` follows the task: CustomAccept records the verdict
    (validate_task_result with the held-out accuracy as score) and accepts or
    rejects on chain; ManualAccept only reports. ``decide=True/False`` overrides.
    """
    base = fetch_base_model(chain, task_id, open_store, work_dir, progress)
    if decide is None:
        decide = base.task.validation_strategy is ValidationStrategy.CUSTOM_ACCEPT
    judgements = []
    for submission in creator_uc.pending_results(chain, task_id):
        report = evaluate_result(chain, submission, base, bundle, open_store, work_dir, progress)
        if not decide:
            judgements.append(Judgement(submission.submission_id, submission.worker, report, "left to the creator"))
            continue
        if submission.status is SubmissionStatus.PENDING_VALIDATION:
            creator_uc.validate_result(chain, keypair, submission.submission_id, report.passed, report.score_bp)
        if report.passed:
            outcome = creator_uc.accept_result(chain, keypair, submission.submission_id)
            judgements.append(Judgement(submission.submission_id, submission.worker, report, "accepted", outcome.reward))
        else:
            creator_uc.reject_result(chain, keypair, submission.submission_id)
            judgements.append(Judgement(submission.submission_id, submission.worker, report, "rejected"))
    return judgements


def federate(chain: ChainClient, task_id: int, bundle: CreatorBundle, strategy: Strategy, open_store: StoreOpener,
             work_dir: Path, output: Path, progress: TransferObserver | None = None) -> RoundResult:
    """Fetch and check the accepted results, aggregate them, evaluate and save the new global model."""
    base = fetch_base_model(chain, task_id, open_store, work_dir, progress)
    accepted = [s for s in chain.task_submissions(task_id) if s.status is SubmissionStatus.ACCEPTED]
    if not accepted:
        raise TrainingError(f"Task {task_id} has no accepted result to federate.", hint="Accept results first.")
    updates = []
    for submission in accepted:
        dest = work_dir / f"task-{task_id}" / f"accepted-{submission.submission_id}"
        path = _download(chain, submission, open_store, dest, progress)
        try:
            result = load_result_dir(path, base_spec=base.spec, base_digest=base.digest)
        except DecentralMLError as exc:
            raise TrainingError(
                f"Accepted submission {submission.submission_id} is unusable: {exc.message}",
                hint="Federate with the others by rejecting it in a new round, or use a robust --strategy.",
            ) from exc
        updates.append(Update(result.weights, result.metrics.num_samples, str(submission.submission_id)))
    aggregate = strategy.aggregate(updates, base.spec)
    evaluation = bundle.evaluate_weights(aggregate.weights)
    digest = save_weights(output, aggregate.weights)
    contributions = tuple(
        RoundContribution(s.submission_id, s.worker, u.num_samples, i in aggregate.used)
        for i, (s, u) in enumerate(zip(accepted, updates))
    )
    return RoundResult(task_id, aggregate.strategy, contributions, evaluation, output, digest)


@dataclass(frozen=True)
class NextRound:
    created: creator_uc.CreatedTask
    closed_previous: creator_uc.Outcome | None


def open_next_round(chain: ChainClient, keypair: Any, store: ArtifactStore, open_store: StoreOpener,
                    previous_task_id: int, global_model: Path, work_dir: Path, *, question: str | None = None,
                    pays_amount: int | None = None, max_assignments: int | None = None,
                    expires_in_blocks: int | None = None, progress: TransferObserver | None = None) -> NextRound:
    """Publish the new global model and open the next round with the previous round's bundle and terms.

    The previous task is closed first when it is still open (its unspent escrow is refunded).
    """
    task = chain.get_task(previous_task_id)
    if task.creator != keypair.ss58_address:
        raise UsageError(f"Task {previous_task_id} was created by {task.creator}; sign as its creator to open the next round.")
    bundle_dir = _fresh(work_dir / f"task-{previous_task_id}" / "bundle")
    open_store(task.assets.bundle).get(task.assets.bundle, bundle_dir, progress=progress)
    closed = None
    if task.status is TaskStatus.OPEN:
        closed = creator_uc.close_task(chain, keypair, previous_task_id)
    spec = creator_uc.TaskSpec(
        task_type=TaskType.MODEL_CONTRIBUTOR,
        question=question or task.question,
        pays_amount=pays_amount or task.pays_amount,
        max_assignments=max_assignments or task.max_assignments,
        validation_strategy=task.validation_strategy,
        expires_in_blocks=expires_in_blocks or max(1, task.expiration_block - task.created_at),
        assignment_deadline=task.assignment_deadline,
    )
    created = creator_uc.create_task(chain, keypair, store, spec, bundle_dir, base_model=global_model, progress=progress)
    return NextRound(created, closed)
