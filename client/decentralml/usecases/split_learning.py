"""Split learning through the marketplace: use cases over the chain, storage and the bundle.

Creator (initiator):
    aggregate_task(chain, keypair, task_id, open_store, data, output, ...) -> Aggregation
    final_round_robin_model(chain, task_id, open_store, output, ...) -> RoundRobinOutcome
Contributor:
    contribute(chain, keypair, task_id, open_store, store, data, work_dir, ...) -> SplitContribution

A task is an ordinary ``ModelContributor`` task whose bundle is a split
bundle (``config.json`` + ``start_task.sh``) and whose base model is the
initial checkpoint. Every result carries a lineage record signed by its
worker (``inline_result``) and that record's digest (``lineage_digest``).
Round-robin turns are ordered by submission id: a turn starts from the most
recent earlier submission that has sent a verified result.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from decentralml.chain.client import ChainClient
from decentralml.chain.types import AWAITING_DECISION, RELEASED, WITH_RESULT, Submission, SubmissionStatus, TaskType
from decentralml.errors import ArtifactNotFoundError, IntegrityError, TrainingError, UsageError
from decentralml.fl.split.runner import (
    METRICS_FILE,
    WEIGHTS_FILE,
    BundleConfig,
    Protocol,
    check_result,
    evaluate_file,
    load_config,
    run_initiator,
    write_base_model,
    write_config,
)
from decentralml.lineage import LineageReport, SignedLineage, sign_step, verify, verify_result_lineage
from decentralml.primitives.budget import Budget
from decentralml.primitives.keypair import Keypair
from decentralml.primitives.staging import NewOutputs
from decentralml.storage.base import ArtifactStore
from decentralml.usecases import AssignedTask, SentResult, StoreOpener, assign_task, read_metrics, send_result
from decentralml.usecases.contributor import result_budget
from decentralml.usecases.run_task import BUNDLE_SUBDIR, expected_block_ms, open_workdir, wall_seconds_before_deadline
from decentralml.usecases.task_runner import SandboxedRunner, TaskRunner

INLINE_METRICS = ("protocol", "samples", "epochs", "train_loss", "train_accuracy", "framework")
STEP_PARTICIPANT = "split-participant"
STEP_TURN = "split-round-robin-turn"
STEP_INITIATOR = "split-initiator"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class SplitContribution:
    """A contributor's sent split result."""

    task_id: int
    submission_id: int
    protocol: Protocol
    previous_submission: int | None
    lineage: SignedLineage
    metrics: dict[str, Any]
    sent: SentResult


#: What ``split init-bundle`` writes in its output directory: the task's assets and its base model.
BUNDLE_DIR = "bundle"
BASE_MODEL_FILE = "base_model.safetensors"


@dataclass(frozen=True)
class InitialBundle:
    bundle: Path
    base_model: Path


def init_bundle(
    out_dir: Path, config: BundleConfig, template: Path, template_files: Sequence[str], *, force: bool = False
) -> InitialBundle:
    """Write ``out_dir/bundle`` (``template_files`` of ``template`` and ``config.json``) and
    ``out_dir/base_model.safetensors`` (both halves initialised from the spec's seed), all or nothing.

    Checks first, before anything is written: ``template`` holds the files, ``out_dir`` is (or can
    be) a directory, and neither output exists unless ``force`` (they are then replaced once the new
    ones are complete). Raises UsageError for those, ModuleNotFoundError without PyTorch.
    """
    missing = [name for name in template_files if not (template / name).is_file()]
    if missing:
        raise UsageError(
            f"The bundle template {template} lacks {', '.join(missing)}.",
            hint=f"Pass --template DIR holding {', '.join(template_files)}, or reinstall decentralml if it is the installed one.",
        )
    outputs = NewOutputs(out_dir, (BUNDLE_DIR, BASE_MODEL_FILE), force=force)
    import torch  # noqa: F401  (the checkpoint needs PyTorch: without it, fail before writing anything)

    with outputs.staged() as staging:
        bundle = staging / BUNDLE_DIR
        bundle.mkdir()
        for name in template_files:
            shutil.copy2(template / name, bundle / name)
        write_config(bundle, config)
        write_base_model(config, staging / BASE_MODEL_FILE)
    return InitialBundle(bundle=out_dir / BUNDLE_DIR, base_model=out_dir / BASE_MODEL_FILE)


@dataclass(frozen=True)
class VerifiedResult:
    """A submission whose lineage verified, and its downloaded result directory."""

    submission: Submission
    report: LineageReport
    directory: Path


@dataclass(frozen=True)
class Refused:
    """A submission whose result failed verification, and why."""

    submission_id: int
    reason: str


@dataclass(frozen=True)
class Aggregation:
    """The initiator's main model and its own signed lineage."""

    task_id: int
    model_dir: Path
    lineage_path: Path
    lineage: SignedLineage
    metrics: dict[str, Any]
    used: tuple[int, ...]
    refused: tuple[Refused, ...]


@dataclass(frozen=True)
class Turn:
    submission_id: int
    worker: str
    lineage_digest: str
    train_loss: float | None
    test_accuracy: float | None
    test_loss: float | None


@dataclass(frozen=True)
class RoundRobinOutcome:
    """The last turn's model, and every verified turn in order."""

    task_id: int
    model_dir: Path
    turns: tuple[Turn, ...]
    refused: tuple[Refused, ...] = field(default_factory=tuple)


# ----------------------------------------------------------------- contributor


def _previous_turn(chain: ChainClient, task_id: int, submission_id: int) -> Submission | None:
    """The latest earlier live submission of the task (None: this is the first turn).

    Rejected and expired submissions are skipped, and so are assigned ones
    whose deadline has passed (the chain only marks those expired lazily).
    """
    now = chain.block_number()
    earlier = [
        s for s in chain.task_submissions(task_id)
        if s.submission_id < submission_id
        and s.status not in RELEASED
        and not (s.status is SubmissionStatus.ASSIGNED and s.deadline and s.deadline <= now)
    ]
    return max(earlier, key=lambda s: s.submission_id) if earlier else None


def _wait_for_previous(
    chain: ChainClient, task_id: int, submission_id: int, wait_seconds: float, poll: float
) -> Submission | None:
    deadline = time.monotonic() + wait_seconds
    while True:
        previous = _previous_turn(chain, task_id, submission_id)
        if previous is None or previous.status in WITH_RESULT:
            return previous
        if time.monotonic() >= deadline:
            raise UsageError(
                f"It is not your turn yet: submission {previous.submission_id} of task {task_id} has not sent its result.",
                hint="Run again later or pass a longer --wait.",
            )
        time.sleep(poll)


def _verify_submission(
    chain: ChainClient, submission: Submission, open_store: StoreOpener, dest: Path, config: BundleConfig,
    budget: Budget,
) -> VerifiedResult:
    """Verify a submission's lineage against the chain, download its result within ``budget`` (the
    task's result budget: an over-budget result is an IntegrityError and leaves nothing behind),
    check the artifact and its contents."""
    if submission.result is None:
        raise IntegrityError(f"Submission {submission.submission_id} has no result on chain.")
    report = verify_result_lineage(
        inline_result=submission.inline_result,
        lineage_digest=submission.lineage_digest,
        worker_public_key=submission.worker,
        task_id=submission.task_id,
        submission_id=submission.submission_id,
        result_digest=submission.result.digest,
    )
    if dest.exists():
        directory = dest
    else:
        directory = open_store(submission.result).get(submission.result, dest, budget=budget)
    verify(report.signed, output=directory)
    check_result(config, directory)
    return VerifiedResult(submission=submission, report=report, directory=directory)


def _base_model(assigned: AssignedTask) -> Path:
    """The base model inside the assigned bundle (UsageError when the bundle is not a split bundle)."""
    workdir = open_workdir(assigned.directory)
    if not workdir.bundle_script.is_file():
        raise UsageError(f"Task {assigned.task_id}'s bundle has no start_task.sh: it is not a split-learning bundle.")
    if workdir.base_model_name is None or not (workdir.bundle_dir / workdir.base_model_name).is_file():
        raise UsageError(f"Task {assigned.task_id} has no base model: a split task needs its initial checkpoint.")
    return workdir.bundle_dir / workdir.base_model_name


def run_bundle(
    chain: ChainClient,
    assigned: AssignedTask,
    data: Path,
    start: Path,
    runner: TaskRunner,
) -> tuple[Path, dict[str, Any]]:
    """Run the split bundle's ``start_task.sh --base-model START --output result --data DATA`` through ``runner``.

    ``runner`` is the seam every bundle run goes through (:mod:`decentralml.usecases.task_runner`):
    by default the bubblewrap sandbox, with the bundle and base model hashed again against the
    chain first, ``data`` read-only, and a time limit ending two blocks before the assignment
    deadline. ``start`` (the base model, or a verified previous turn inside the work directory)
    is read-only for the bundle. Returns the result directory and its ``metrics.json``, read
    within the metrics limits (the bundle is a stranger's code). Raises TaskLimitError,
    TrainingError, IntegrityError, SandboxError from the run.
    """
    workdir = assigned.directory.resolve()
    start = start.resolve()
    left = wall_seconds_before_deadline(assigned.deadline, chain.block_number(), expected_block_ms(chain))
    inputs = () if start.is_relative_to(workdir / BUNDLE_SUBDIR) else (start.parent,)
    output = runner.run(workdir, ["--base-model", start.relative_to(workdir).as_posix()], data,
                        time.monotonic() + left, inputs=inputs)
    try:
        return output, read_metrics(output / METRICS_FILE)
    except UsageError as exc:
        raise TrainingError(f"The task's start_task.sh wrote no usable {METRICS_FILE}: {exc.message}") from None


def contribute(
    chain: ChainClient,
    keypair: Keypair,
    task_id: int,
    open_store: StoreOpener,
    store: ArtifactStore,
    data: Path,
    work_dir: Path,
    *,
    assigned: AssignedTask | None = None,
    wait_seconds: float = 0.0,
    poll_seconds: float = 1.0,
    runner: TaskRunner | None = None,
) -> SplitContribution:
    """Take a slot (unless ``assigned``), train the split network on ``data``, sign the lineage, send the result.

    In round robin the start checkpoint is the previous turn's verified
    result (waiting up to ``wait_seconds`` for it); otherwise the task's
    base model. The bundle runs through ``runner`` (default: a
    :class:`~decentralml.usecases.task_runner.SandboxedRunner` with the default
    :class:`~decentralml.sandbox.SandboxPolicy`), exactly as ``run-task`` and
    ``contributor run`` run any bundle; the signing key never reaches it.
    """
    data = Path(data)
    if not data.is_file():
        raise UsageError(f"{data} does not exist: pass your private CSV with --data.")
    task = chain.get_task(task_id)
    if task.task_type is not TaskType.MODEL_CONTRIBUTOR:
        raise UsageError(f"Task {task_id} is a {task.task_type.value} task, not a split-learning (model contributor) task.")
    if assigned is None:
        assigned = assign_task(chain, keypair, task_id, open_store, Path(work_dir))
    base = _base_model(assigned)
    config = load_config(assigned.bundle_dir)
    parents: tuple[str, ...] = ()
    start, previous_id = base, None
    if config.protocol == Protocol.ROUND_ROBIN:
        previous = _wait_for_previous(chain, task_id, assigned.submission_id, wait_seconds, poll_seconds)
        if previous is not None:
            try:
                verified = _verify_submission(
                    chain, previous, open_store, assigned.directory / f"previous-{previous.submission_id}", config,
                    result_budget(task, open_store),
                )
            except (IntegrityError, ArtifactNotFoundError) as exc:
                exc.hint = (
                    f"The previous turn (submission {previous.submission_id}) cannot be trusted; ask the creator to reject it, "
                    "then run again to continue from the turn before."
                )
                raise
            start = verified.directory / WEIGHTS_FILE
            parents, previous_id = (verified.report.digest_hex,), previous.submission_id
    started = _now_ms()
    output, metrics = run_bundle(chain, assigned, data, start, runner or SandboxedRunner())
    finished = _now_ms()
    signed = sign_step(
        keypair, task_id=task_id, submission_id=assigned.submission_id,
        step=STEP_TURN if config.protocol == Protocol.ROUND_ROBIN else STEP_PARTICIPANT,
        framework=str(metrics.get("framework", "torch")), data=data, params=config.to_dict(),
        code_hash=task.assets.bundle.digest.hex(), output=output,
        started_at_ms=started, finished_at_ms=finished, parents=parents,
    )
    inline = {k: metrics[k] for k in INLINE_METRICS if k in metrics}
    sent = send_result(chain, keypair, store, assigned.submission_id, output, metrics=inline, lineage=signed)
    return SplitContribution(task_id, assigned.submission_id, config.protocol, previous_id, signed, metrics, sent)


# ----------------------------------------------------------------- creator


def _collect(
    chain: ChainClient, task_id: int, open_store: StoreOpener, work_dir: Path, config: BundleConfig
) -> tuple[list[VerifiedResult], list[Refused]]:
    verified, refused = [], []
    budget = result_budget(chain.get_task(task_id), open_store)
    for submission in sorted(chain.task_submissions(task_id), key=lambda s: s.submission_id):
        if submission.status not in WITH_RESULT:
            continue
        try:
            verified.append(_verify_submission(
                chain, submission, open_store, work_dir / f"submission-{submission.submission_id}", config, budget
            ))
        except (IntegrityError, ArtifactNotFoundError) as exc:
            refused.append(Refused(submission.submission_id, exc.one_line()))
    return verified, refused


#: What ``split aggregate`` and ``split final`` write in their output directory.
MODEL_DIR = "model"
LINEAGE_FILE = "lineage.json"


def _outputs(output: Path) -> NewOutputs:
    """``output/model`` and ``output/lineage.json``, written all or nothing; UsageError if either exists.

    Downloads go to a ``.work`` directory in the staging directory, removed with it: a run that
    fails (no verified result yet, a node gone) leaves nothing, so the same command can be rerun.
    """
    return NewOutputs(output, (MODEL_DIR, LINEAGE_FILE), option=None)


def _task_bundle(chain: ChainClient, task_id: int, open_store: StoreOpener, work_dir: Path) -> tuple[BundleConfig, Path, str]:
    task = chain.get_task(task_id)
    if task.assets.base_model is None:
        raise UsageError(f"Task {task_id} has no base model: it is not a split-learning task.")
    bundle = work_dir / "bundle"
    if not bundle.exists():
        open_store(task.assets.bundle).get(task.assets.bundle, bundle)
    base = work_dir / "base_model.safetensors"
    if not base.exists():
        open_store(task.assets.base_model).get(task.assets.base_model, base)
    return load_config(bundle), base, task.assets.bundle.digest.hex()


def aggregate_task(
    chain: ChainClient,
    keypair: Keypair,
    task_id: int,
    open_store: StoreOpener,
    data: Path,
    output: Path,
    *,
    test: Path | None = None,
    strategy: str = "fedavg",
) -> Aggregation:
    """The initiator of initiator/participants split learning: verify every participant's lineage, aggregate their server halves, train the main model.

    ``strategy``: ``fedavg`` (sample-weighted) or a robust rule
    (``median``, ``trimmed-mean``, ``krum``). Results whose lineage or artifact does not verify are left out (listed in
    ``refused``). The main model goes to ``output/model`` and the
    initiator's own signed lineage (parents: the participants' records) to
    ``output/lineage.json``.
    """
    output = Path(output)
    with _outputs(output).staged() as staging:
        work = staging / ".work"
        work.mkdir()
        config, base, code_hash = _task_bundle(chain, task_id, open_store, work)
        if config.protocol != Protocol.INITIATOR:
            raise UsageError(f"Task {task_id} is a round-robin task: use `decentralml split final` instead.")
        verified, refused = _collect(chain, task_id, open_store, work, config)
        if not verified:
            raise UsageError(f"Task {task_id} has no verified participant result yet: wait for submissions.")
        model_dir = staging / MODEL_DIR
        started = _now_ms()
        metrics = run_initiator(config, base, [v.directory for v in verified], Path(data), model_dir, test, strategy)
        finished = _now_ms()
        signed = sign_step(
            keypair, task_id=task_id, submission_id=None, step=STEP_INITIATOR,
            framework=str(metrics.get("framework", "torch")), data=Path(data), params=config.to_dict(),
            code_hash=code_hash, output=model_dir, started_at_ms=started, finished_at_ms=finished,
            parents=tuple(v.report.digest_hex for v in verified),
        )
        (staging / LINEAGE_FILE).write_bytes(signed.to_json())
    return Aggregation(
        task_id=task_id,
        model_dir=output / MODEL_DIR,
        lineage_path=output / LINEAGE_FILE,
        lineage=signed,
        metrics=metrics,
        used=tuple(v.submission.submission_id for v in verified),
        refused=tuple(refused),
    )


def final_round_robin_model(
    chain: ChainClient,
    task_id: int,
    open_store: StoreOpener,
    output: Path,
    *,
    test: Path | None = None,
) -> RoundRobinOutcome:
    """The creator of a round-robin split-learning task: verify every turn and the chain of turns, return the last turn's model.

    Each turn's record must name the previous verified turn's record as its
    parent (the first turn none); a turn that breaks the chain is refused and
    the chain continues from the last good turn. With ``test``, every turn's
    model is evaluated (the convergence trace).
    """
    output = Path(output)
    with _outputs(output).staged() as staging:
        work = staging / ".work"
        work.mkdir()
        last, turns, refused = _verified_turns(chain, task_id, open_store, work, test)
        (staging / MODEL_DIR).mkdir()
        (staging / MODEL_DIR / WEIGHTS_FILE).write_bytes((last.directory / WEIGHTS_FILE).read_bytes())
        (staging / LINEAGE_FILE).write_bytes(last.report.signed.to_json())
    return RoundRobinOutcome(task_id, output / MODEL_DIR, tuple(turns), tuple(refused))


def _verified_turns(
    chain: ChainClient, task_id: int, open_store: StoreOpener, work: Path, test: Path | None
) -> tuple[VerifiedResult, list[Turn], list[Refused]]:
    """The last turn of the verified chain of turns, every turn kept, and the results refused (into ``work``)."""
    from decentralml.fl.split import weights

    config, _, _ = _task_bundle(chain, task_id, open_store, work)
    if config.protocol != Protocol.ROUND_ROBIN:
        raise UsageError(f"Task {task_id} is an initiator/participant task: use `decentralml split aggregate` instead.")
    verified, refused = _collect(chain, task_id, open_store, work, config)
    turns: list[Turn] = []
    last: VerifiedResult | None = None
    for result in verified:
        expected = (last.report.digest_hex,) if last is not None else ()
        if result.report.signed.record.parents != expected:
            refused.append(Refused(result.submission.submission_id, "its lineage does not continue the previous turn"))
            continue
        metrics = _read_metrics(result.directory)
        evaluation = evaluate_file(weights.read(result.directory / WEIGHTS_FILE), config, test) if test else {}
        turns.append(Turn(
            submission_id=result.submission.submission_id,
            worker=result.submission.worker,
            lineage_digest=result.report.digest_hex,
            train_loss=metrics.get("train_loss"),
            test_accuracy=evaluation.get("test_accuracy"),
            test_loss=evaluation.get("test_loss"),
        ))
        last = result
    if last is None:
        raise UsageError(f"Task {task_id} has no verified turn yet: wait for the first contributor.")
    return last, turns, refused


def _read_metrics(directory: Path) -> dict[str, Any]:
    """A turn's metrics.json within the metrics limits ({} when it is missing or refused: it only informs)."""
    try:
        return read_metrics(directory / METRICS_FILE)
    except UsageError:
        return {}


def accept_verified(chain: ChainClient, keypair: Keypair, submission_ids: Sequence[int]) -> list[int]:
    """Accept (and so pay) the given submissions that are still awaiting a decision; return those accepted."""
    from decentralml.usecases import accept_result

    accepted = []
    for submission_id in submission_ids:
        if chain.get_submission(submission_id).status in AWAITING_DECISION:
            accept_result(chain, keypair, submission_id)
            accepted.append(submission_id)
    return accepted


def reject_refused(chain: ChainClient, keypair: Keypair, refused: Sequence[Refused]) -> list[int]:
    """Reject the submissions that failed verification and still await a decision."""
    from decentralml.usecases import reject_result

    rejected = []
    for item in refused:
        if chain.get_submission(item.submission_id).status in AWAITING_DECISION:
            reject_result(chain, keypair, item.submission_id)
            rejected.append(item.submission_id)
    return rejected
