"""Federated rounds on the chain: judge pending results, federate accepted ones, open the next round.

No printing; frozen records out. Results are fetched through the storage layer (digest checked,
within a budget) and read as data only; the creator's bundle supplies evaluation and validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from decentralml.chain.client import ChainClient
from decentralml.chain.types import Submission, SubmissionStatus, Task, TaskStatus, TaskType, ValidationStrategy
from decentralml.errors import DecentralMLError, IntegrityError, StorageError, TrainingError, UsageError
from decentralml.fl.bundle import CreatorBundle
from decentralml.fl.duplicates import Earlier, find_duplicate
from decentralml.fl.strategy import Strategy, Update
from decentralml.fl.validation import Evaluation, ValidationReport
from decentralml.fl.weighting import bound_sample_counts, check_sample_count
from decentralml.fl.weights import (
    MAX_METRICS_BYTES,
    METRICS_FILE,
    WEIGHTS_FILE,
    ModelSpec,
    ResultFiles,
    SafetensorsModel,
    load_result_dir,
    read_spec,
    save_weights,
)
from decentralml.primitives.budget import Budget
from decentralml.primitives.digests import file_digest as _file_digest
from decentralml.primitives.digests import pack_digest
from decentralml.primitives.keypair import Keypair
from decentralml.primitives.localpaths import local_paths
from decentralml.primitives.staging import remove_path
from decentralml.storage.base import ArtifactStore, TransferObserver
from decentralml.storage.local import LocalStore
from decentralml.storage.reference import Reference, StorageType
from decentralml.usecases import creator as creator_uc
from decentralml.usecases import preconditions, submissions
from decentralml.usecases.contributor import StoreOpener


@dataclass(frozen=True)
class RoundBase:
    """A round's task and its base model (downloaded and digest-checked)."""

    task: Task
    path: Path
    spec: ModelSpec
    digest: str
    size: int

    def result_budget(self, max_bytes: int | None = None) -> Budget:
        """What one result may put on disk: a multiple of the base model (``max_bytes`` overrides the total)."""
        return Budget.for_result(self.size).with_total(max_bytes)


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
    """One accepted result in a round: the samples it claimed and those it was weighted by."""

    submission_id: int
    worker: str
    num_samples: int
    used: bool
    claimed_samples: int = 0
    clipped: str = ""  # why num_samples differs from claimed_samples


@dataclass(frozen=True)
class Skipped:
    """An accepted result left out of the round, and why."""

    submission_id: int
    worker: str
    reason: str


@dataclass(frozen=True)
class RoundResult:
    """A federated round's new global model."""

    task_id: int
    strategy: str
    contributions: tuple[RoundContribution, ...]
    evaluation: Evaluation
    global_model: Path
    digest: str
    skipped: tuple[Skipped, ...] = ()


def fetch_base_model(chain: ChainClient, task_id: int, open_store: StoreOpener, work_dir: Path,
                     progress: TransferObserver | None = None, max_bytes: int | None = None) -> RoundBase:
    """The task's base model, downloaded once into ``work_dir`` (reused when its digest matches),
    within the bundle budget (``max_bytes`` overrides it)."""
    task = chain.get_task(task_id)
    if task.task_type is not TaskType.MODEL_CONTRIBUTOR:
        raise UsageError(f"Task {task_id} is a {task.task_type.value} task; federated rounds are model-contributor tasks.")
    ref = task.assets.base_model
    if ref is None:
        raise UsageError(f"Task {task_id} has no base model.", hint="Create federated tasks with --base-model.")
    if ref.is_directory:
        raise UsageError(f"Task {task_id}'s base model is a directory; a round needs one safetensors file.")
    with local_paths(work_dir):
        work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / f"task-{task_id}-base.safetensors"
    if not (path.is_file() and _sha256_hex(path) == ref.digest_hex):
        remove_path(path)
        open_store(ref).get(ref, path, progress=progress, budget=Budget.for_bundle().with_total(max_bytes))
    return RoundBase(task, path, read_spec(path), ref.digest_hex, path.stat().st_size)


def _sha256_hex(path: Path) -> str:
    """SHA-256 of a file, hex."""
    return _file_digest(path)[0].hex()


def _fresh(path: Path) -> Path:
    with local_paths(path):
        remove_path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


def kept_results(work_dir: Path) -> LocalStore:
    """Where the creator keeps the verified copy of every accepted result, by content digest."""
    return LocalStore(work_dir / "kept-results")


def _kept_ref(kept: LocalStore, ref: Reference) -> Reference:
    return Reference(StorageType.LOCAL, kept.uri_for(ref.digest, directory=ref.is_directory), ref.digest)


def _download(submission: Submission, open_store: StoreOpener, dest: Path, budget: Budget,
              progress: TransferObserver | None) -> Path:
    if submission.result is None:
        raise UsageError(f"Submission {submission.submission_id} has no result.")
    return open_store(submission.result).get(submission.result, _fresh(dest), progress=progress, budget=budget)


def _result_files(path: Path) -> tuple[Path, Path]:
    """The weights and metrics files of a result directory; TrainingError unless it holds exactly those, as files."""
    if not path.is_dir() or {p.name for p in path.iterdir()} != {WEIGHTS_FILE, METRICS_FILE}:
        raise TrainingError(f"the result must be a directory of exactly {WEIGHTS_FILE} and {METRICS_FILE}")
    weights, metrics = path / WEIGHTS_FILE, path / METRICS_FILE
    for member in (weights, metrics):
        if member.is_symlink() or not member.is_file():
            raise TrainingError(f"{member.name} in the result is not a regular file")
    if metrics.stat().st_size > MAX_METRICS_BYTES:
        raise TrainingError(f"{METRICS_FILE} has {metrics.stat().st_size} bytes, at most {MAX_METRICS_BYTES} are read")
    return weights, metrics


def _unusable(exc: BaseException) -> str:
    """A one-line reason for a result whose handling raised ``exc`` (any exception class), without a
    final period: it is shown after "Skipped accepted submission N:" and joined into a sentence."""
    if isinstance(exc, DecentralMLError):
        return exc.message.rstrip().rstrip(".")
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"unusable result ({type(exc).__name__}{': ' + detail if detail else ''})"


def evaluate_result(chain: ChainClient, submission: Submission, base: RoundBase, bundle: CreatorBundle,
                    open_store: StoreOpener, work_dir: Path, progress: TransferObserver | None = None, *,
                    budget: Budget | None = None, earlier: Sequence[Earlier] = (),
                    retry_unavailable: bool = False) -> tuple[ValidationReport, Path | None]:
    """Fetch one result within ``budget`` (digest-checked), refuse copies of ``earlier`` results, and run
    the creator's validation function on it. Any failure of this result is its rejection: never raises
    for a bad result. Returns the report and the downloaded directory (None when nothing was kept); a
    passed result's directory is the caller's to keep (:func:`keep_verified`) or remove.

    With ``retry_unavailable`` a :class:`~decentralml.errors.StorageError` of the download itself
    (the store unreachable, the object missing) is raised instead, for a caller that retries later.
    """
    dest = work_dir / f"task-{base.task.task_id}" / f"submission-{submission.submission_id}"
    try:
        same = next((e for e in earlier if submission.result is not None
                     and e.result_digest == submission.result.digest), None)
        if same is not None:
            return ValidationReport(False, f"duplicate: it is the very result of submission {same.submission_id}"), None
        path = _download(submission, open_store, dest, budget or base.result_budget(), progress)
        weights, metrics = _result_files(path)
        model = SafetensorsModel(weights, expected=base.spec)
        copied = find_duplicate(model, _sha256_hex(weights), earlier, SafetensorsModel(base.path))
        if copied is not None:
            remove_path(dest)
            return ValidationReport(False, f"duplicate: {copied}"), None
        report = bundle.validate_contribution(weights, metrics.read_bytes(), base.path)
        if not isinstance(report, ValidationReport):
            raise TrainingError(f"the creator bundle's validate_contribution returned {type(report).__name__}")
        return report, path
    except Exception as exc:  # any failure of one result is that result's rejection
        remove_path(dest)
        if retry_unavailable and isinstance(exc, StorageError):
            raise
        prefix = "download refused: " if isinstance(exc, (IntegrityError, StorageError)) else ""
        return ValidationReport(False, prefix + _unusable(exc)), None


def earlier_accepted(chain: ChainClient, task_id: int, kept: LocalStore, base: RoundBase) -> list[Earlier]:
    """The task's accepted results the creator still holds (for the duplicate checks)."""
    out = []
    for s in chain.task_submissions(task_id):
        if s.status is not SubmissionStatus.ACCEPTED or s.result is None:
            continue
        path = kept.path_of(_kept_ref(kept, s.result))
        try:
            weights, _ = _result_files(path)
            out.append(Earlier(s.submission_id, SafetensorsModel(weights, expected=base.spec), _sha256_hex(weights),
                               s.result.digest))
        except Exception:  # not kept here, or unusable: nothing to compare with
            continue
    return out


def keep_verified(kept: LocalStore, submission: Submission, path: Path, base: RoundBase) -> Earlier:
    """Keep the verified result directory ``path`` of an accepted ``submission`` in ``kept`` by its content
    digest (``federate`` uses that copy even if the original disappears), remove ``path``, and return the
    kept copy as an :class:`~decentralml.fl.duplicates.Earlier` for the duplicate checks of later results."""
    assert submission.result is not None
    ref = kept.put(path)
    remove_path(path)
    weights = kept.path_of(ref) / WEIGHTS_FILE
    return Earlier(submission.submission_id, SafetensorsModel(weights, expected=base.spec), _sha256_hex(weights),
                   submission.result.digest)


def judge_pending(chain: ChainClient, keypair: Keypair, task_id: int, bundle: CreatorBundle, open_store: StoreOpener,
                  work_dir: Path, *, decide: bool | None = None, progress: TransferObserver | None = None,
                  max_result_bytes: int | None = None) -> list[Judgement]:
    """Evaluate every pending result of a task, each on its own.

    ``decide=None`` follows the task: CustomAccept records the verdict
    (validate_task_result with the held-out accuracy as score) and accepts or
    rejects on chain; ManualAccept only reports. ``decide=True/False`` overrides.
    A result that cannot be fetched within its budget, parsed, or evaluated, or
    that copies an earlier result of the task, is rejected with the reason; the
    others proceed. Every accepted result's verified copy is kept by digest
    (:func:`kept_results`) for ``federate``; rejected downloads are removed.
    """
    base = fetch_base_model(chain, task_id, open_store, work_dir, progress)
    if decide is None:
        decide = base.task.validation_strategy is ValidationStrategy.CUSTOM_ACCEPT
    kept = kept_results(work_dir)
    budget = base.result_budget(max_result_bytes)
    earlier = earlier_accepted(chain, task_id, kept, base)
    judgements = []
    for submission in submissions.pending_results(chain, task_id):
        report, path = evaluate_result(chain, submission, base, bundle, open_store, work_dir, progress,
                                       budget=budget, earlier=earlier)
        if report.passed and path is not None and submission.result is not None:
            earlier.append(keep_verified(kept, submission, path, base))
        elif path is not None:
            remove_path(path)
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


def _creator_shard_size(bundle: CreatorBundle) -> int | None:
    """The creator bundle's ``shard_size()`` (samples one contributor's shard holds), when it defines one."""
    function = getattr(bundle, "shard_size", None)
    if not callable(function):
        return None
    return check_sample_count(function(), "the creator bundle's shard_size()")


def _accepted_copy(submission: Submission, kept: LocalStore, open_store: StoreOpener, dest: Path, budget: Budget,
                   progress: TransferObserver | None) -> Path:
    """The accepted result's verified copy in the creator's kept store: used in place when it still
    matches its digest, else downloaded again (within ``budget``) and kept."""
    assert submission.result is not None
    local = kept.path_of(_kept_ref(kept, submission.result))
    if local.is_dir() and not local.is_symlink() and _digest_of(local) == submission.result.digest:
        return local
    try:
        path = _download(submission, open_store, dest, budget, progress)
        return kept.path_of(kept.put(path))
    finally:
        remove_path(dest)


def _digest_of(path: Path) -> bytes | None:
    try:
        return pack_digest(path)[0]
    except DecentralMLError:
        return None


def federate(chain: ChainClient, task_id: int, bundle: CreatorBundle, strategy: Strategy, open_store: StoreOpener,
             work_dir: Path, output: Path, progress: TransferObserver | None = None, *,
             max_result_bytes: int | None = None) -> RoundResult:
    """Aggregate the accepted results (kept copies first), evaluate and save the new global model.

    An accepted result that is unavailable or unusable is skipped and reported
    (``RoundResult.skipped``), never fatal unless none is left. Sample counts are
    bounded (:func:`~decentralml.fl.weighting.bound_sample_counts`) by the creator
    bundle's ``shard_size()`` and the round's median; clipped counts are reported.
    """
    base = fetch_base_model(chain, task_id, open_store, work_dir, progress)
    accepted = [s for s in chain.task_submissions(task_id) if s.status is SubmissionStatus.ACCEPTED and s.result]
    if not accepted:
        raise TrainingError(f"Task {task_id} has no accepted result to federate.", hint="Accept results first.")
    kept = kept_results(work_dir)
    budget = base.result_budget(max_result_bytes)
    usable: list[tuple[Submission, ResultFiles]] = []
    skipped: list[Skipped] = []
    for submission in accepted:
        dest = work_dir / f"task-{task_id}" / f"accepted-{submission.submission_id}"
        try:
            path = _accepted_copy(submission, kept, open_store, dest, budget, progress)
            _result_files(path)
            usable.append((submission, load_result_dir(path, base_spec=base.spec, base_digest=base.digest)))
        except Exception as exc:  # one unavailable or unusable result does not stop the round
            skipped.append(Skipped(submission.submission_id, submission.worker, _unusable(exc)))
    if not usable:
        reasons = "; ".join(f"{s.submission_id}: {s.reason}" for s in skipped)
        raise TrainingError(f"No accepted result of task {task_id} is available: {reasons}.")
    counts = bound_sample_counts([r.metrics.num_samples for _, r in usable], shard_size=_creator_shard_size(bundle))
    updates = [Update(r.weights, c.used, str(s.submission_id)) for (s, r), c in zip(usable, counts)]
    aggregate = strategy.aggregate(updates, base.spec)
    evaluation = bundle.evaluate_weights(aggregate.weights)
    digest = save_weights(output, aggregate.weights)
    contributions = tuple(
        RoundContribution(s.submission_id, s.worker, c.used, i in aggregate.used, c.claimed, c.reason)
        for i, ((s, _), c) in enumerate(zip(usable, counts))
    )
    return RoundResult(task_id, aggregate.strategy, contributions, evaluation, output, digest, tuple(skipped))


@dataclass(frozen=True)
class NextRound:
    created: creator_uc.CreatedTask
    closed_previous: creator_uc.Outcome | None


@dataclass(frozen=True)
class NextRoundPlan:
    """The next round's terms, checked against the chain before the round is federated."""

    previous: Task
    spec: creator_uc.TaskSpec


def plan_next_round(chain: ChainClient, keypair: Keypair, previous_task_id: int, *, question: str | None = None,
                    pays_amount: int | None = None, max_assignments: int | None = None,
                    expires_in_blocks: int | None = None) -> NextRoundPlan:
    """Check everything opening the next round depends on, before anything is downloaded or written.

    The signer must be the previous task's creator (PermissionDeniedError), a still open task
    must be closable now (:func:`~decentralml.usecases.preconditions.check_closable`), and the
    next round's terms (the previous round's where not given) must pass
    :func:`~decentralml.usecases.creator.check_terms` with the refund of the unspent escrow.
    """
    task = chain.get_task(previous_task_id)
    preconditions.require_creator(task, keypair.ss58_address, "open the next round")
    spec = creator_uc.TaskSpec(
        task_type=TaskType.MODEL_CONTRIBUTOR,
        question=task.question if question is None else question,
        pays_amount=task.pays_amount if pays_amount is None else pays_amount,
        max_assignments=task.max_assignments if max_assignments is None else max_assignments,
        validation_strategy=task.validation_strategy,
        expires_in_blocks=max(1, task.expiration_block - task.created_at) if expires_in_blocks is None else expires_in_blocks,
        assignment_deadline=task.assignment_deadline,
    )
    if spec.assignment_deadline >= spec.expires_in_blocks:
        raise UsageError(
            f"The next round keeps task {task.task_id}'s assignment deadline of {spec.assignment_deadline} blocks,"
            f" so it must expire later than that (--expires-in {spec.expires_in_blocks}).",
            hint=f"Pass --expires-in above {spec.assignment_deadline}.",
        )
    refund = 0
    if task.status is TaskStatus.OPEN:
        preconditions.check_closable(task, chain.task_submissions(previous_task_id), keypair.ss58_address,
                                     chain.block_number())
        refund = task.escrow_total - task.paid
    creator_uc.check_terms(chain, keypair, spec, refund=refund)
    return NextRoundPlan(task, spec)


def open_next_round(chain: ChainClient, keypair: Keypair, store: ArtifactStore, open_store: StoreOpener,
                    plan: NextRoundPlan, global_model: Path, work_dir: Path, *,
                    progress: TransferObserver | None = None) -> NextRound:
    """Publish the new global model and open the next round with the previous round's bundle and ``plan``'s terms.

    The previous task is closed first when it is still open (its unspent escrow is refunded).
    """
    task = plan.previous
    bundle_dir = _fresh(work_dir / f"task-{task.task_id}" / "bundle")
    open_store(task.assets.bundle).get(task.assets.bundle, bundle_dir, progress=progress, budget=Budget.for_bundle())
    closed = None
    if task.status is TaskStatus.OPEN:
        closed = creator_uc.close_task(chain, keypair, task.task_id)
    created = creator_uc.create_task(chain, keypair, store, plan.spec, bundle_dir, base_model=global_model,
                                     progress=progress)
    return NextRound(created, closed)
