"""A creator's federated job, run unattended round after round (``decentralml creator run JOB``).

Per round: publish the global model and create the task; follow the chain
(new heads by subscription, then each block's ``System.Events``); judge each
result as soon as it is sent (CustomAccept: the creator bundle's validation,
then validate + accept or reject on chain; ManualAccept: evaluate, show and
leave the decision to the creator); close the round at the quorum or the
deadline (``close_task`` refunds the unspent escrow); federate the accepted
results with the job's strategy, evaluate on the held-out data and go on. The
job stops at the round limit, the target accuracy or the budget.

Everything the job does is in its journal (``<work dir>/journal.jsonl``),
each transaction announced there before it is sent; a restarted job replays
the journal, settles unfinished steps against the chain and continues.
"""

from __future__ import annotations

import queue
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decentralml.amounts import TokenInfo, parse_amount
from decentralml.chain.client import ChainClient, TaskFilter
from decentralml.chain.follow import NewHead, NodeStatus
from decentralml.chain.pallet import MAX_ASSIGNMENTS, MAX_BLOCK_NUMBER
from decentralml.chain.types import SubmissionStatus, TaskStatus, TaskType, ValidationStrategy
from decentralml.errors import (
    ChainError,
    ConfigError,
    DecentralMLError,
    StorageError,
    TrainingError,
    UsageError,
)
from decentralml.fl.bundle import CreatorBundle, load_creator_bundle
from decentralml.fl.strategy import strategy_by_name
from decentralml.primitives.digests import file_digest
from decentralml.primitives.keypair import Keypair
from decentralml.primitives.staging import remove_path
from decentralml.storage.base import ArtifactStore
from decentralml.usecases import creator as creator_uc
from decentralml.usecases.contributor import StoreOpener
from decentralml.usecases.federation import (
    RoundBase,
    earlier_accepted,
    evaluate_result,
    federate,
    fetch_base_model,
    keep_verified,
    kept_results,
)
from decentralml.usecases.role import EventSink, PalletEvent, Role

VALIDATIONS = {"custom": ValidationStrategy.CUSTOM_ACCEPT, "manual": ValidationStrategy.MANUAL_ACCEPT}
MAX_FETCH_ATTEMPTS = 5
AWAITING_DECISION = (SubmissionStatus.PENDING_VALIDATION, SubmissionStatus.VALIDATED)


# ---------------------------------------------------------------- the job file


@dataclass(frozen=True)
class JobSpec:
    """A federated job as the JOB file states it (paths resolved against the file's directory; amounts in planck).

    ``round_blocks``: each round's task expires that many blocks after its creation (the round's deadline);
    ``assignment_blocks``: how long a contributor may hold a slot; ``quorum``: accepted results that end a
    round early (at most ``slots``); ``budget``: the most the job pays in rewards (None: no limit).
    """

    name: str
    creator_bundle: Path
    contributor_bundle: Path
    initial_model: Path
    work_dir: Path
    rounds: int
    strategy: str
    reward: int
    slots: int
    quorum: int
    validation: ValidationStrategy
    round_blocks: int
    assignment_blocks: int
    question: str
    budget: int | None = None
    target_accuracy: float | None = None
    baseline_epochs: int = 0

    @property
    def escrow_per_round(self) -> int:
        return self.reward * self.slots


def _require(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise UsageError(f"{where} lacks `{key}`.", hint="See docs/roles.md for the JOB file.")
    value = table[key]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise UsageError(f"`{key}` in {where} must be a {kind.__name__} (got {value!r}).")
    return value


def load_job(path: Path, token: TokenInfo, *, work_dir: Path | None = None) -> JobSpec:
    """Read a JOB file (TOML, tables ``[job]`` and ``[round]``); UsageError naming the bad key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist.", hint="Pass the job's TOML file.") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path} is not a readable TOML file: {exc}.") from None
    job = data.get("job")
    rnd = data.get("round")
    if not isinstance(job, dict) or not isinstance(rnd, dict):
        raise UsageError(f"{path} needs a [job] and a [round] table.", hint="See docs/roles.md for the JOB file.")
    where = f"{path.name} [job]"
    base = path.resolve().parent

    def rel(value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else base / p

    def amount(value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise UsageError(f"`{key}` in {path.name} must be an amount such as \"10 UNIT\".")
        return parse_amount(str(value), token)

    validation = str(rnd.get("validation", "custom")).lower()
    if validation not in VALIDATIONS:
        raise UsageError(f"`validation` in {path.name} [round] must be custom or manual (got {validation!r}).")
    slots = int(_require(rnd, "slots", int, f"{path.name} [round]"))
    round_blocks = int(_require(rnd, "round_blocks", int, f"{path.name} [round]"))
    spec = JobSpec(
        name=str(job.get("name", path.stem)),
        creator_bundle=rel(_require(job, "creator_bundle", str, where)),
        contributor_bundle=rel(_require(job, "contributor_bundle", str, where)),
        initial_model=rel(_require(job, "initial_model", str, where)),
        work_dir=work_dir or rel(str(job.get("work_dir", f"{path.stem}.job"))),
        rounds=int(_require(job, "rounds", int, where)),
        strategy=str(job.get("strategy", "fedavg")),
        reward=amount(_require(rnd, "reward", object, f"{path.name} [round]"), "reward"),
        slots=slots,
        quorum=int(rnd.get("quorum", slots)),
        validation=VALIDATIONS[validation],
        round_blocks=round_blocks,
        assignment_blocks=int(rnd.get("assignment_blocks", round_blocks)),
        question=str(rnd.get("question", "Federated round: train the global model on your data.")),
        budget=amount(job["budget"], "budget") if "budget" in job else None,
        target_accuracy=float(job["target_accuracy"]) if "target_accuracy" in job else None,
        baseline_epochs=int(job.get("baseline_epochs", 0)),
    )
    check_job(spec)
    return spec


def check_job(spec: JobSpec) -> None:
    """Pure checks of a job's numbers and files (the chain checks the task terms again)."""
    if spec.rounds < 1:
        raise UsageError("`rounds` must be at least 1.")
    if not 1 <= spec.slots <= MAX_ASSIGNMENTS:  # the chain's MaxAssignmentsPerTask is checked when a round opens
        raise UsageError(f"`slots` must be between 1 and {MAX_ASSIGNMENTS} (got {spec.slots}).")
    if not 1 <= spec.round_blocks <= MAX_BLOCK_NUMBER:
        raise UsageError(f"`round_blocks` must be between 1 and {MAX_BLOCK_NUMBER} (a block number; got {spec.round_blocks}).")
    if not 1 <= spec.assignment_blocks < spec.round_blocks:
        raise UsageError(f"`assignment_blocks` must be at least 1 and less than `round_blocks` ({spec.round_blocks});"
                         f" got {spec.assignment_blocks}.")
    if not 1 <= spec.quorum <= spec.slots:
        raise UsageError(f"`quorum` must be between 1 and `slots` ({spec.slots}); got {spec.quorum}.")
    if spec.target_accuracy is not None and not 0 < spec.target_accuracy <= 1:
        raise UsageError("`target_accuracy` is a fraction in (0, 1], e.g. 0.95.")
    if spec.budget is not None and spec.budget < spec.escrow_per_round:
        raise UsageError("`budget` does not cover one round's escrow (reward × slots).")
    strategy_by_name(spec.strategy)
    creator_uc.TaskSpec(TaskType.MODEL_CONTRIBUTOR, spec.question, spec.reward, spec.slots, spec.validation,
                        spec.round_blocks, spec.assignment_blocks).check()
    for label, p in (("creator_bundle", spec.creator_bundle), ("contributor_bundle", spec.contributor_bundle),
                     ("initial_model", spec.initial_model)):
        if not p.exists():
            raise UsageError(f"`{label}` {p} does not exist.",
                             hint="Prepare round 0 with `python model_creator.py init DIR` in the creator bundle.")


# ---------------------------------------------------------------- the job's state, rebuilt from its journal


@dataclass
class RoundState:
    number: int
    base_model: Path
    base_digest: str
    task_id: int | None = None
    expiration_block: int = 0
    closed: bool = False
    refund: int = 0
    federated: dict[str, Any] | None = None
    judged: dict[int, dict[str, Any]] = field(default_factory=dict)  # submission id -> judged record
    intents: dict[int, dict[str, Any]] = field(default_factory=dict)  # submission id -> unsettled judge intent
    fetch_failures: dict[int, int] = field(default_factory=dict)
    shown: set[int] = field(default_factory=set)  # ManualAccept: results already shown
    reports: dict[int, dict[str, Any]] = field(default_factory=dict)  # ManualAccept: what was shown


@dataclass
class JobState:
    rounds: list[RoundState] = field(default_factory=list)
    paid: int = 0
    finished: dict[str, Any] | None = None
    pending_create: dict[str, Any] | None = None
    pending_close: dict[str, Any] | None = None
    last_block: int | None = None  # the last block whose events were read (None: not started)

    @property
    def current(self) -> RoundState | None:
        return self.rounds[-1] if self.rounds else None

    @property
    def known_task_ids(self) -> set[int]:
        return {r.task_id for r in self.rounds if r.task_id is not None}


def replay(records: list[dict[str, Any]], work_dir: Path) -> JobState:
    """Pure: the job's state after the journal's records."""
    state = JobState()
    for record in records:
        kind = record.get("type")
        if kind == "round_opening":
            state.rounds.append(RoundState(int(record["round"]), work_dir / record["base_model"], record["base_digest"]))
            state.pending_create = record
        elif kind == "round_opened":
            current = state.rounds[-1]
            current.task_id = int(record["task_id"])
            current.expiration_block = int(record["expiration_block"])
            state.pending_create = None
        elif kind == "judging":
            state.rounds[-1].intents[int(record["submission_id"])] = record
        elif kind == "judged":
            sid = int(record["submission_id"])
            state.rounds[-1].judged[sid] = record
            state.rounds[-1].intents.pop(sid, None)
            state.paid += int(record.get("reward") or 0)
        elif kind == "closing":
            state.pending_close = record
        elif kind == "round_closed":
            state.rounds[-1].closed = True
            state.rounds[-1].refund = int(record.get("refund") or 0)
            state.pending_close = None
        elif kind == "federated":
            state.rounds[-1].federated = record
        elif kind == "finished":
            state.finished = record
    return state


# ---------------------------------------------------------------- the coordinator


class Stopped(Exception):
    """SIGTERM: the current step is finished; the job exits and continues on the next start."""


@dataclass(frozen=True)
class JobOutcome:
    reason: str
    rounds: int
    final_accuracy: float | None
    paid: int
    stopped: bool = False


class CreatorJob(Role):
    """One federated job; :meth:`run` returns when it is finished or asked to stop."""

    def __init__(self, spec: JobSpec, *, url: str, connect: Callable[[], ChainClient], keypair: Keypair, store: ArtifactStore,
                 open_store: StoreOpener, on_event: EventSink | None = None,
                 stop: threading.Event | None = None, bundle: CreatorBundle | None = None) -> None:
        super().__init__(url=url, connect=connect, keypair=keypair, work_dir=spec.work_dir, on_event=on_event, stop=stop)
        self.spec = spec
        self.store = store
        self.open_store = open_store
        self.bundle = bundle
        self.state = replay(self.journal.records, spec.work_dir)
        self._base: RoundBase | None = None

    def _drop_chain(self) -> None:
        super()._drop_chain()
        self._base = None

    # -- main loop --------------------------------------------------------------

    def run(self) -> JobOutcome:
        if self.state.finished is not None:
            return self._outcome(self.state.finished["reason"])
        if not self.journal.records:
            self._record("job_started", name=self.spec.name, initial_digest=_hex_digest(self.spec.initial_model),
                         creator=self.keypair.ss58_address)
        if self.bundle is None:
            self.bundle = load_creator_bundle(self.spec.creator_bundle)
        try:
            return self._follow(self._step)
        except Stopped:
            self._notice("stopped", message="stopped after finishing the current step; run again to continue")
            return self._outcome("stopped", stopped=True)

    def _step(self) -> JobOutcome | None:
        """Advance the job by one step; a finished job returns its outcome."""
        if self.stop.is_set():
            raise Stopped()
        state = self.state
        current = state.current
        if current is None or current.federated is not None:
            reason = self._stop_reason()
            if reason is not None:
                self._finish(reason)
                return self._outcome(reason)
            self._open_round()
            return None
        if current.task_id is None:
            self._open_round()  # settles the journalled intent
            return None
        if not current.closed:
            self._follow_round(current)
            return None
        self._federate(current)
        return None

    def _stop_reason(self) -> str | None:
        done = [r for r in self.state.rounds if r.federated is not None]
        if done:
            last = done[-1].federated or {}
            accuracy = last.get("accuracy")
            target = self.spec.target_accuracy
            if target is not None and accuracy is not None and accuracy >= target:
                return f"target accuracy reached: {accuracy:.2%} >= {target:.2%}"
            if len(done) >= self.spec.rounds:
                return f"round limit reached: {len(done)} of {self.spec.rounds}"
        if self.spec.budget is not None and self.state.paid + self.spec.escrow_per_round > self.spec.budget:
            return (f"budget: {self.state.paid} planck paid, another round's escrow of {self.spec.escrow_per_round}"
                    f" would exceed the budget of {self.spec.budget}")
        return None

    def _outcome(self, reason: str, *, stopped: bool = False) -> JobOutcome:
        done = [r.federated for r in self.state.rounds if r.federated is not None]
        accuracy = done[-1].get("accuracy") if done else None
        return JobOutcome(reason, len(done), accuracy, self.state.paid, stopped)

    def _finish(self, reason: str) -> None:
        baseline = None
        if self.spec.baseline_epochs > 0:
            baseline = self._baseline()
        self.state.finished = self._record("finished", reason=reason, baseline_accuracy=baseline,
                                           paid=self.state.paid)

    def _baseline(self) -> float | None:
        """Centralized training on all the creator's training data with ``baseline_epochs`` (the same epoch budget)."""
        bundle: Any = self.bundle
        needed = ("create_model", "load_data", "train_model", "evaluate_model")
        if not all(callable(getattr(bundle, n, None)) for n in needed):
            self._notice("warning", message="the creator bundle has no centralized training functions: no baseline")
            return None
        model = bundle.create_model()
        (x_train, y_train), (x_test, y_test) = bundle.load_data()
        bundle.train_model(model, x_train, y_train, self.spec.baseline_epochs)
        _, accuracy = bundle.evaluate_model(model, x_test, y_test)
        return float(accuracy)

    # -- waiting on the chain -----------------------------------------------------

    def _wait(self, timeout: float) -> None:
        """Wait for the next head (or node status) from the subscription; handle status items."""
        try:
            item = self.queue.get(timeout=timeout)
        except queue.Empty:
            return
        self._handle_item(item)

    def _handle_item(self, item: object) -> None:
        if isinstance(item, NewHead):
            self.head = max(self.head, item.number)
        elif isinstance(item, NodeStatus):
            if item.connected:
                self._notice("node", connected=True, message=item.message)
            else:
                self._notice("node", connected=False, message=item.message, retry_in=item.retry_in)
                self._drop_chain()

    def _new_blocks(self) -> list[tuple[int, list[PalletEvent]]]:
        """Events of every block after the last one handled, up to the head."""
        if self.state.last_block is None:  # what happened before is read from the chain's state
            self.state.last_block = self._chain().block_number()
            return []
        blocks = []
        for number, events in self._pallet_events(self.state.last_block):
            blocks.append((number, events))
            self.state.last_block = number
        return blocks

    # -- a round ------------------------------------------------------------------

    def _round_model(self) -> tuple[int, Path, str]:
        previous = [r for r in self.state.rounds if r.federated is not None]
        number = (self.state.current.number if self.state.current and self.state.current.task_id is None
                  else len(self.state.rounds) + 1)
        if previous:
            path = self.spec.work_dir / previous[-1].federated["global_model"]  # type: ignore[index]
        else:
            path = self.spec.initial_model
        return number, path, _hex_digest(path)

    def _open_round(self) -> None:
        chain = self._chain()
        pending = self.state.pending_create
        if pending is not None:
            self._settle_own_transactions()
            adopted = self._find_created_task(pending["base_digest"])
            if adopted is not None:
                self._opened(adopted.task_id, adopted.expiration_block)
                return
            base_model, digest, number = self.state.current.base_model, pending["base_digest"], pending["round"]  # type: ignore[union-attr]
        else:
            number, base_model, digest = self._round_model()
            relative = base_model.relative_to(self.spec.work_dir) if base_model.is_relative_to(self.spec.work_dir) else base_model
            self._record("round_opening", round=number, base_model=str(relative), base_digest=digest,
                         block=chain.block_number())
            self.state.rounds.append(RoundState(number, base_model, digest))
        spec = creator_uc.TaskSpec(TaskType.MODEL_CONTRIBUTOR, self.spec.question, self.spec.reward, self.spec.slots,
                                   self.spec.validation, self.spec.round_blocks, self.spec.assignment_blocks)
        created = creator_uc.create_task(chain, self.keypair, self.store, spec, self.spec.contributor_bundle,
                                         base_model=base_model)
        self._opened(created.task_id, created.expiration_block)

    def _find_created_task(self, base_digest: str) -> Any:
        known = self.state.known_task_ids
        for task in self._chain().list_tasks(TaskFilter(creator=self.keypair.ss58_address)):
            base = task.assets.base_model
            if (task.task_id not in known and base is not None
                    and base.digest_hex == base_digest):
                return task
        return None

    def _opened(self, task_id: int, expiration_block: int) -> None:
        current = self.state.current
        assert current is not None
        current.task_id = task_id
        current.expiration_block = expiration_block
        self.state.pending_create = None
        self._record("round_opened", round=current.number, task_id=task_id, expiration_block=expiration_block,
                     escrow=str(self.spec.escrow_per_round), slots=self.spec.slots, quorum=self.spec.quorum,
                     base_digest=current.base_digest)

    def _follow_round(self, current: RoundState) -> None:
        """Judge what is waiting, close when the round is over, else wait for the next block."""
        assert current.task_id is not None
        chain = self._chain()
        if self.head == 0:
            self.head = chain.block_number()
        blocks = self._new_blocks()
        for number, events in blocks:
            for _module, name, attributes in events:
                if int(attributes.get("task_id", -1)) == current.task_id:
                    self._notice("chain_event", event=name, block=number,
                                 **{k: str(v) for k, v in attributes.items() if k in ("submission_id", "worker", "deadline")})
        self._settle_judging(current)
        task = chain.get_task(current.task_id)
        submissions = chain.task_submissions(current.task_id)
        for submission in submissions:
            if self.stop.is_set():
                raise Stopped()
            sid = submission.submission_id
            if sid in current.judged or sid in current.intents:
                continue
            if submission.status in AWAITING_DECISION:
                self._judge(current, submission)
            elif submission.status in (SubmissionStatus.ACCEPTED, SubmissionStatus.REJECTED):
                self._decided_elsewhere(current, submission)
        if self._maybe_close(current, task, chain.task_submissions(current.task_id)):
            return
        self._status(current, task)
        self._wait(30.0)

    def _status(self, current: RoundState, task: Any) -> None:
        accepted = sum(1 for j in current.judged.values() if j.get("decision") == "accepted")
        self._notice("status", round=current.number, rounds=self.spec.rounds, task_id=current.task_id,
                     block=self.head, blocks_left=max(0, current.expiration_block - self.head),
                     assigned=task.assigned, accepted=accepted, judged=len(current.judged),
                     slots=self.spec.slots, quorum=self.spec.quorum, paid=str(self.state.paid),
                     accuracy=self._last_accuracy())

    def _last_accuracy(self) -> float | None:
        done = [r.federated for r in self.state.rounds if r.federated is not None]
        return done[-1].get("accuracy") if done else None

    # -- judging --------------------------------------------------------------

    def _round_base(self, current: RoundState) -> RoundBase:
        if self._base is None or self._base.task.task_id != current.task_id:
            self._base = fetch_base_model(self._chain(), current.task_id, self.open_store,  # type: ignore[arg-type]
                                          self.spec.work_dir / "downloads")
        return self._base

    def _judge(self, current: RoundState, submission: Any) -> None:
        sid = submission.submission_id
        if sid in current.intents:
            return
        if self.spec.validation is ValidationStrategy.MANUAL_ACCEPT and sid in current.shown:
            return
        chain, base, downloads = self._chain(), self._round_base(current), self.spec.work_dir / "downloads"
        kept = kept_results(downloads)
        try:
            report, path = evaluate_result(chain, submission, base, self.bundle, self.open_store, downloads,  # type: ignore[arg-type]
                                           earlier=earlier_accepted(chain, base.task.task_id, kept, base),
                                           retry_unavailable=True)
        except StorageError as exc:
            failures = current.fetch_failures.get(sid, 0) + 1
            current.fetch_failures[sid] = failures
            if failures < MAX_FETCH_ATTEMPTS:
                self._notice("storage_retry", submission_id=sid, attempt=failures, message=exc.message)
                return
            from decentralml.fl.validation import ValidationReport

            report, path = ValidationReport(False, f"result unavailable after {failures} attempts: {exc.message}"), None
        if path is not None:
            # The verified copy of a passed result is kept where federate looks first; anything else is removed.
            if report.passed:
                keep_verified(kept, submission, path, base)
            else:
                remove_path(path)
        accuracy = report.evaluation.accuracy if report.evaluation else None
        fields = dict(round=current.number, task_id=current.task_id, submission_id=sid, worker=submission.worker,
                      passed=report.passed, score=report.score_bp, accuracy=accuracy, reason=report.reason)
        if self.spec.validation is ValidationStrategy.MANUAL_ACCEPT:
            current.shown.add(sid)
            current.reports[sid] = fields
            self._notice("awaiting_decision", **fields)
            return
        verdict = "accepted" if report.passed else "rejected"
        current.intents[sid] = self._record("judging", verdict=verdict, **fields)
        self._settle_judging(current)

    def _decided_elsewhere(self, current: RoundState, submission: Any) -> None:
        """A decision the creator took by hand (ManualAccept): recorded with what the evaluation showed."""
        shown = current.reports.get(submission.submission_id, {})
        accepted = submission.status is SubmissionStatus.ACCEPTED
        record = self._record(
            "judged", round=current.number, task_id=current.task_id, submission_id=submission.submission_id,
            worker=submission.worker, decision="accepted" if accepted else "rejected", reward=str(submission.paid),
            passed=shown.get("passed"), score=shown.get("score"), accuracy=shown.get("accuracy"),
            reason=shown.get("reason", "decided by the creator"), decided_by="creator")
        current.judged[submission.submission_id] = record
        self.state.paid += submission.paid

    def _settle_judging(self, current: RoundState) -> None:
        """Carry every journalled decision through on chain, once (the chain's status says what is done)."""
        if not current.intents:
            return
        self._settle_own_transactions()
        chain = self._chain()
        for sid, intent in list(current.intents.items()):
            submission = chain.get_submission(sid)
            reward = None
            if submission.status is SubmissionStatus.PENDING_VALIDATION:
                creator_uc.validate_result(chain, self.keypair, sid, bool(intent["passed"]), int(intent["score"]))
                submission = chain.get_submission(sid)
            if submission.status is SubmissionStatus.VALIDATED:
                if intent["verdict"] == "accepted":
                    reward = creator_uc.accept_result(chain, self.keypair, sid).reward
                else:
                    creator_uc.reject_result(chain, self.keypair, sid)
                submission = chain.get_submission(sid)
            if submission.status is SubmissionStatus.ACCEPTED:
                decision, reward = "accepted", submission.paid
            elif submission.status is SubmissionStatus.REJECTED:
                decision, reward = "rejected", 0
            else:
                raise ChainError(f"Submission {sid} is {submission.status.value} after the creator's decision.")
            fields = {k: intent[k] for k in ("round", "task_id", "worker", "passed", "score", "accuracy", "reason")}
            record = self._record("judged", submission_id=sid, decision=decision, reward=str(reward), **fields)
            current.judged[sid] = record
            current.intents.pop(sid, None)
            self.state.paid += int(reward or 0)

    # -- closing and federating ----------------------------------------------------

    def _maybe_close(self, current: RoundState, task: Any, submissions: list[Any]) -> bool:
        chain = self._chain()
        if task.status is not TaskStatus.OPEN:
            self._closed(current, 0 if task.status is TaskStatus.COMPLETED else task.escrow_total - task.paid)
            return True
        awaiting = [s for s in submissions if s.status in AWAITING_DECISION]
        if awaiting:
            if self.spec.validation is ValidationStrategy.MANUAL_ACCEPT and self.head >= task.expiration_block:
                self._notice("waiting", message=f"{len(awaiting)} result(s) wait for your decision"
                             " (decentralml evaluate-results / accept / reject) before the round can close")
            return False
        next_block = self.head + 1
        holding = [s for s in submissions if s.status is SubmissionStatus.ASSIGNED and s.deadline >= next_block]
        expired = next_block >= task.expiration_block
        if not (expired or (task.accepted >= self.spec.quorum and not holding)):
            return False
        if self.state.pending_close is None:
            self._record("closing", round=current.number, task_id=current.task_id,
                         why="deadline" if expired else "quorum")
        self._settle_own_transactions()
        task = chain.get_task(current.task_id)  # type: ignore[arg-type]
        if task.status is TaskStatus.OPEN:
            outcome = creator_uc.close_task(chain, self.keypair, current.task_id)  # type: ignore[arg-type]
            refund = outcome.refund or 0
        else:
            refund = task.escrow_total - task.paid if task.status is TaskStatus.CLOSED else 0
        self._closed(current, refund)
        return True

    def _closed(self, current: RoundState, refund: int) -> None:
        current.closed = True
        current.refund = refund
        self.state.pending_close = None
        task = self._chain().get_task(current.task_id)  # type: ignore[arg-type]
        self._record("round_closed", round=current.number, task_id=current.task_id, status=task.status.value,
                     accepted=task.accepted, paid=str(task.paid), refund=str(refund))

    def _federate(self, current: RoundState) -> None:
        output = self.spec.work_dir / f"global-round{current.number}.safetensors"
        accepted = [j for j in current.judged.values() if j.get("decision") == "accepted"]
        chain = self._chain()
        if not accepted and not any(s.status is SubmissionStatus.ACCEPTED
                                    for s in chain.task_submissions(current.task_id)):  # type: ignore[arg-type]
            evaluation = self.bundle.evaluate_weights(_load(current.base_model))  # type: ignore[union-attr]
            import shutil

            shutil.copyfile(current.base_model, output)
            current.federated = self._record(
                "federated", round=current.number, task_id=current.task_id, strategy=self.spec.strategy,
                contributions=[], accuracy=evaluation.accuracy, loss=evaluation.loss,
                global_model=output.name, digest=_hex_digest(output), note="no accepted result: the model is unchanged")
            return
        try:
            result = federate(chain, current.task_id, self.bundle, strategy_by_name(self.spec.strategy),  # type: ignore[arg-type]
                              self.open_store, self.spec.work_dir / "downloads", output)
        except (StorageError, TrainingError) as exc:
            self._notice("storage_retry", round=current.number, message=f"federation: {exc.message}")
            self._wait(5.0)
            return
        current.federated = self._record(
            "federated", round=current.number, task_id=current.task_id, strategy=result.strategy,
            contributions=[{"submission_id": c.submission_id, "worker": c.worker, "num_samples": c.num_samples,
                            "used": c.used} for c in result.contributions],
            accuracy=result.evaluation.accuracy, loss=result.evaluation.loss, global_model=output.name,
            digest=result.digest)


def _hex_digest(path: Path) -> str:
    """The SHA-256 of a file as the chain's references hold it (hex)."""
    return file_digest(path)[0].hex()


def _load(path: Path) -> Any:
    from decentralml.fl.weights import load_weights

    return load_weights(path)


__all__ = ["CreatorJob", "JobOutcome", "JobSpec", "check_job", "load_job", "replay", "ConfigError", "DecentralMLError"]
