"""A contributor's node: offer this machine to the marketplace (``decentralml contributor run``).

The node follows the chain (new heads by subscription, then each block's
``System.Events``), keeps the open tasks its :class:`Policy` admits, takes a
slot, runs the task's bundle through a :class:`~decentralml.usecases.task_runner.TaskRunner`
with the contributor's data, sends the result, records the payment when the
creator accepts it, and waits again; ``max_concurrent`` tasks at a time.

Every transaction is announced in the node's journal (``<work dir>/journal.jsonl``)
before it is sent; a restarted node replays it and settles each unfinished step
against the chain: a slot taken but not recorded is found among the worker's
submissions, a result sent but not recorded shows as the submission's status,
a payment is read from the accepted submission. A task is taken at most once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decentralml.chain.client import ChainClient, TaskFilter
from decentralml.chain.follow import NewHead, NodeStatus
from decentralml.chain.types import Submission, SubmissionStatus, Task, TaskType
from decentralml.errors import DecentralMLError, DispatchError, IntegrityError, StorageError, UsageError
from decentralml.primitives.keypair import Keypair
from decentralml.primitives.localpaths import local_paths
from decentralml.primitives.staging import remove_path
from decentralml.storage.base import ArtifactStore
from decentralml.usecases.contributor import (
    StoreOpener,
    assign_task,
    directory_size,
    fetch_task_assets,
    lay_out_workdir,
    send_result,
)
from decentralml.usecases.role import EventSink, Role
from decentralml.usecases.run_task import DEADLINE_MARGIN_BLOCKS, find_workdir
from decentralml.usecases.task_runner import TaskRunner

FRAMEWORK_PACKAGES = {"tensorflow": ("tensorflow", "tensorflow-cpu", "keras"), "torch": ("torch",)}
MAX_SEND_ATTEMPTS = 5
#: Back-off between attempts to fetch an adopted slot's assets again: 1 s doubling to 30 s (as for a lost node).
ADOPT_RETRY_FIRST_S = 1.0
ADOPT_RETRY_MAX_S = 30.0
#: Seconds per block assumed until two heads have been seen (the runtime's expected block time).
DEFAULT_BLOCK_SECONDS = 6.0


@dataclass(frozen=True)
class Policy:
    """Which tasks this machine takes (empty ``allowed_creators``: any creator not blocked)."""

    task_types: frozenset[TaskType] = frozenset({TaskType.MODEL_CONTRIBUTOR})
    frameworks: frozenset[str] = frozenset({"torch", "tensorflow"})
    min_reward: int = 0
    max_bundle_bytes: int = 256 * 1024 * 1024
    allowed_creators: frozenset[str] = frozenset()
    blocked_creators: frozenset[str] = frozenset()

    def refuses(self, task: Task) -> str | None:
        """Pure: why the task is refused by its on-chain terms, or None."""
        if task.task_type not in self.task_types:
            return f"task type {task.task_type.value} is not offered"
        if task.pays_amount < self.min_reward:
            return f"the reward {task.pays_amount} is below the minimum {self.min_reward}"
        if task.creator in self.blocked_creators:
            return "the creator is blocked"
        if self.allowed_creators and task.creator not in self.allowed_creators:
            return "the creator is not in the allowed list"
        return None

    def refuses_bundle(self, bundle: Path) -> str | None:
        """Why the fetched bundle is refused (size, frameworks its requirements name), or None."""
        size = directory_size(bundle)
        if size > self.max_bundle_bytes:
            return f"the bundle is {size} bytes, over the limit of {self.max_bundle_bytes}"
        needed = bundle_frameworks(bundle)
        missing = needed - self.frameworks
        if missing:
            return f"the bundle needs {', '.join(sorted(missing))}, not offered here"
        return None


def bundle_frameworks(bundle: Path) -> set[str]:
    """The deep-learning frameworks a bundle's requirements.txt names."""
    requirements = bundle / "requirements.txt" if bundle.is_dir() else None
    if requirements is None or not requirements.is_file():
        return set()
    names = set()
    for line in requirements.read_text(encoding="utf-8", errors="replace").splitlines()[:1000]:
        name = line.split("#", 1)[0].strip().split(";")[0]
        for sep in "<>=!~[ ":
            name = name.split(sep)[0]
        names.add(name.lower())
    return {fw for fw, packages in FRAMEWORK_PACKAGES.items() if names & set(packages)}


@dataclass
class Work:
    """One slot this node holds, from the journal."""

    task_id: int
    submission_id: int
    deadline: int
    directory: Path
    result: Path | None = None
    sent: bool = False
    running: bool = False
    send_failures: int = 0


@dataclass
class NodeState:
    tasks_taken: set[int] = field(default_factory=set)
    refused: dict[int, str] = field(default_factory=dict)
    work: dict[int, Work] = field(default_factory=dict)  # submission id -> live work
    pending_assign: dict[str, Any] | None = None
    pending_send: dict[int, dict[str, Any]] = field(default_factory=dict)
    earned: int = 0
    finished: dict[int, str] = field(default_factory=dict)  # submission id -> paid/rejected/expired/failed


def replay(records: list[dict[str, Any]]) -> NodeState:
    """Pure: the node's state after its journal's records."""
    state = NodeState()
    for record in records:
        kind = record.get("type")
        if kind == "assigning":
            state.pending_assign = record
            state.tasks_taken.add(int(record["task_id"]))
        elif kind == "assigned":
            state.pending_assign = None
            sid = int(record["submission_id"])
            state.work[sid] = Work(int(record["task_id"]), sid, int(record["deadline"]), Path(record["directory"]))
        elif kind == "assign_failed":
            state.pending_assign = None
            state.tasks_taken.discard(int(record["task_id"]))
        elif kind == "adopt_failed":  # the slot was taken but could not be set up again: it expires, unused
            state.pending_assign = None
            state.finished[int(record["submission_id"])] = "failed"
        elif kind == "refused":
            state.refused[int(record["task_id"])] = record["reason"]
        elif kind == "ran":
            work = state.work.get(int(record["submission_id"]))
            if work is not None:
                work.result = Path(record["result"])
        elif kind == "sending":
            state.pending_send[int(record["submission_id"])] = record
        elif kind == "sent":
            sid = int(record["submission_id"])
            state.pending_send.pop(sid, None)
            if sid in state.work:
                state.work[sid].sent = True
        elif kind in ("paid", "rejected", "expired", "failed"):
            sid = int(record["submission_id"])
            state.work.pop(sid, None)
            state.pending_send.pop(sid, None)
            state.finished[sid] = kind
            if kind == "paid":
                state.earned += int(record["amount"])
    return state


@dataclass(frozen=True)
class RunDone:
    submission_id: int
    result: Path | None
    error: str | None
    seconds: float = 0.0


class ContributorNode(Role):
    """The node; :meth:`run` returns after :meth:`request_stop` once the running tasks are sent."""

    def __init__(self, *, url: str, connect: Callable[[], ChainClient], keypair: Keypair, store: ArtifactStore,
                 open_store: StoreOpener, work_dir: Path, runner: TaskRunner, task_args: Sequence[str],
                 data: Path | None, policy: Policy, max_concurrent: int = 1,
                 on_event: EventSink | None = None) -> None:
        if max_concurrent < 1:
            raise UsageError("--max-concurrent must be at least 1.")
        super().__init__(url=url, connect=connect, keypair=keypair, work_dir=work_dir, on_event=on_event)
        self.store = store
        self.open_store = open_store
        self.work_dir = Path(work_dir)
        self.runner = runner
        self.task_args = list(task_args)
        self.data = data
        self.policy = policy
        self.max_concurrent = max_concurrent
        self.state = replay(self.journal.records)
        self.last_block: int | None = None  # the last block whose events were read
        self._adopt_failures = 0
        self._adopt_retry_at = 0.0  # time.monotonic() before which an adopt is not tried again
        self._head_times: list[tuple[int, float]] = []
        self._look_for_tasks = True

    # -- main loop ------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self._notice("runner", name=self.runner.name, worker=self.keypair.ss58_address)
        self._follow(lambda: True if self._step() else None)
        summary = {"earned": str(self.state.earned), "finished": dict(self.state.finished)}
        self._notice("stopped", **summary)
        return summary

    def _running(self) -> int:
        return sum(1 for w in self.state.work.values() if w.running)

    def _step(self) -> bool:
        """One pass: settle, react to new blocks, take work; True when the node should exit."""
        self._settle()
        if self.head == 0:
            self.head = self._chain().block_number()
        self._read_blocks()
        self._advance_work()
        if self.stop.is_set():
            if self._running() == 0 and not any(w.result and not w.sent for w in self.state.work.values()):
                return True
        elif self._look_for_tasks and self.state.pending_assign is None and self._running() < self.max_concurrent:
            self._look_for_tasks = False
            self._take_tasks()
        self._status()
        self._wait(30.0)
        return False

    def _status(self) -> None:
        self._notice("status", block=self.head, running=self._running(), holding=len(self.state.work),
                     earned=str(self.state.earned), done=len(self.state.finished), runner=self.runner.name)

    def _wait(self, timeout: float) -> None:
        try:
            item = self.queue.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            self._handle(item)
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return

    def _handle(self, item: object) -> None:
        if isinstance(item, NewHead):
            self._head_times = (self._head_times + [(item.number, item.seen_at)])[-21:]
            self.head = max(self.head, item.number)
        elif isinstance(item, NodeStatus):
            self._notice("node", connected=item.connected, message=item.message, retry_in=item.retry_in)
            if not item.connected:
                self._drop_chain()
            else:
                self._look_for_tasks = True
        elif isinstance(item, RunDone):
            work = self.state.work.get(item.submission_id)
            if work is None:
                return
            work.running = False
            if item.result is not None:
                work.result = item.result
                self._record("ran", submission_id=work.submission_id, task_id=work.task_id, result=str(item.result),
                             seconds=round(item.seconds, 3))
            else:
                self._finish(work, "failed", reason=item.error)
            self._look_for_tasks = True

    def _block_seconds(self) -> float:
        """The median time between consecutive heads as the subscription saw them (the default before five)."""
        gaps = sorted(t2 - t1 for (n1, t1), (n2, t2) in zip(self._head_times, self._head_times[1:]) if n2 == n1 + 1)
        return max(0.05, gaps[len(gaps) // 2]) if len(gaps) >= 5 else DEFAULT_BLOCK_SECONDS

    # -- reading the chain ------------------------------------------------------------

    def _read_blocks(self) -> None:
        if self.last_block is None:  # events before the node started are covered by the first look for tasks
            self.last_block = self.head
            return
        mine = set(self.state.work)
        for number, events in self._pallet_events(self.last_block):
            self.last_block = number
            for _, name, attributes in events:
                sid = int(attributes.get("submission_id", -1))
                if name in ("TaskCreated", "TaskResultRejected", "AssignmentExpired") and sid not in mine:
                    self._look_for_tasks = True  # a new task or a freed slot
                if sid in mine:
                    self._notice("chain_event", event=name, block=number, submission_id=sid)

    def _settle(self) -> None:
        """Settle every journalled step against the chain (after a restart, a lost node, or new blocks)."""
        chain = self._chain()
        if self.state.pending_assign is not None or self.state.pending_send:
            self._settle_own_transactions()
        pending = self.state.pending_assign
        if pending is not None:
            task_id = int(pending["task_id"])
            found = [s for s in chain.worker_submissions(self.keypair.ss58_address)
                     if s.task_id == task_id and s.submission_id not in self.state.finished
                     and s.submission_id not in self.state.work]
            if found:
                self._adopt_or_retry(found[-1])
            else:
                self._assign_failed(task_id, "the slot was not taken")
        for sid, work in list(self.state.work.items()):
            submission = chain.get_submission(sid)
            self._settle_work(work, submission)

    def _settle_work(self, work: Work, submission: Submission) -> None:
        status = submission.status
        if status is SubmissionStatus.ACCEPTED:
            if not work.sent:
                self._record("sent", submission_id=work.submission_id, task_id=work.task_id, settled=True)
                work.sent = True
            self._finish(work, "paid", amount=str(submission.paid))
        elif status is SubmissionStatus.REJECTED:
            self._finish(work, "rejected")
        elif status is SubmissionStatus.EXPIRED or (status is SubmissionStatus.ASSIGNED and self.head > work.deadline > 0):
            self._finish(work, "expired")
        elif status in (SubmissionStatus.PENDING_VALIDATION, SubmissionStatus.VALIDATED) and not work.sent:
            self._record("sent", submission_id=work.submission_id, task_id=work.task_id, settled=True)
            work.sent = True

    def _finish(self, work: Work, kind: str, **fields: Any) -> None:
        self._record(kind, submission_id=work.submission_id, task_id=work.task_id, **fields)
        self.state.work.pop(work.submission_id, None)
        self.state.pending_send.pop(work.submission_id, None)
        self.state.finished[work.submission_id] = kind
        if kind == "paid":
            self.state.earned += int(fields["amount"])
        self._look_for_tasks = True

    # -- taking tasks ---------------------------------------------------------------------

    def _take_tasks(self) -> None:
        chain = self._chain()
        for task in chain.list_tasks(TaskFilter(open_only=True)):
            if self.stop.is_set() or self._running() >= self.max_concurrent:
                return
            if task.task_id in self.state.tasks_taken or task.task_id in self.state.refused:
                continue
            if task.creator == self.keypair.ss58_address:
                continue
            reason = self.policy.refuses(task) or self._bundle_refused(task)
            if reason is not None:
                self.state.refused[task.task_id] = reason
                self._record("refused", task_id=task.task_id, reason=reason)
                continue
            self._assign(task)

    def _bundle_refused(self, task: Task) -> str | None:
        preview = self.work_dir / "preview" / task.assets.bundle.digest_hex
        if not preview.exists():
            try:
                self.open_store(task.assets.bundle).get(task.assets.bundle, preview)
            except DecentralMLError as exc:
                remove_path(preview)
                return f"the bundle could not be fetched: {exc.message}"
        return self.policy.refuses_bundle(preview)

    def _assign(self, task: Task) -> None:
        self.state.tasks_taken.add(task.task_id)
        self.state.pending_assign = self._record("assigning", task_id=task.task_id, reward=str(task.pays_amount),
                                                 creator=task.creator)
        try:
            assigned = assign_task(self._chain(), self.keypair, task.task_id, self.open_store, self.work_dir / "tasks")
        except DispatchError as exc:  # the slot went to someone else, or the task closed meanwhile
            self._assign_failed(task.task_id, exc.message)
            return
        except StorageError as exc:
            self._assign_failed(task.task_id, f"storage: {exc.message}")
            return
        self._assigned(task.task_id, assigned.submission_id, assigned.deadline, assigned.directory)

    def _assign_failed(self, task_id: int, reason: str) -> None:
        """No slot was taken: the task may be tried again when a slot frees up."""
        self.state.pending_assign = None
        self.state.tasks_taken.discard(task_id)
        self._record("assign_failed", task_id=task_id, reason=reason)

    def _adopt_or_retry(self, submission: Submission) -> None:
        """Adopt a slot taken before a kill; a storage error is retried with back-off, not fatal.

        StorageError (the store unreachable, the artifact missing for now): reported as
        ``storage_retry`` with ``retry_in`` and tried again after 1 s, doubling to 30 s, while the
        slot's deadline has not passed; after it, ``adopt_failed``. IntegrityError (assets that do
        not match their digests or break the bundle budget): ``adopt_failed`` at once. Either way
        the slot is left to expire and the node goes on.
        """
        now = time.monotonic()
        if now < self._adopt_retry_at:
            return
        try:
            self._adopt(submission)
        except StorageError as exc:
            if submission.deadline and self.head >= submission.deadline:
                self._adopt_failed(submission, f"storage: {exc.message} (the slot's deadline passed)")
                return
            self._adopt_failures += 1
            retry_in = min(ADOPT_RETRY_MAX_S, ADOPT_RETRY_FIRST_S * 2 ** (self._adopt_failures - 1))
            self._adopt_retry_at = now + retry_in
            self._notice("storage_retry", submission_id=submission.submission_id, task_id=submission.task_id,
                         attempt=self._adopt_failures, message=exc.message, retry_in=retry_in)
            return
        except IntegrityError as exc:
            self._adopt_failed(submission, exc.message)
            return
        self._adopt_failures = 0
        self._adopt_retry_at = 0.0

    def _adopt_failed(self, submission: Submission, reason: str) -> None:
        self.state.pending_assign = None
        self.state.finished[submission.submission_id] = "failed"
        self._adopt_failures = 0
        self._adopt_retry_at = 0.0
        self._record("adopt_failed", task_id=submission.task_id, submission_id=submission.submission_id, reason=reason)
        self._look_for_tasks = True

    def _adopt(self, submission: Submission) -> None:
        """A slot taken before a kill: fetch its assets again into a work directory laid out as ``assign-task`` does.

        A directory already laid out for this submission is reused; the runner checks the
        bundle's and base model's digests again before it runs anything.
        """
        tasks = self.work_dir / "tasks"
        try:
            directory = find_workdir(tasks, submission.submission_id).path
        except UsageError:
            task = self._chain().get_task(submission.task_id)
            staging = tasks / f".adopt-{submission.submission_id}"
            with local_paths(tasks):
                tasks.mkdir(parents=True, exist_ok=True)
                remove_path(staging)
                staging.mkdir()
            try:
                base_model_name = fetch_task_assets(task, self.open_store, staging)
                directory = lay_out_workdir(task, submission.submission_id, submission.deadline, staging,
                                            base_model_name, tasks)
            except BaseException:
                remove_path(staging)
                raise
        self._assigned(submission.task_id, submission.submission_id, submission.deadline, directory)

    def _assigned(self, task_id: int, submission_id: int, deadline: int, directory: Path) -> None:
        self.state.pending_assign = None
        self._record("assigned", task_id=task_id, submission_id=submission_id, deadline=deadline,
                     directory=str(directory))
        self.state.work[submission_id] = Work(task_id, submission_id, deadline, directory)

    # -- running and sending -----------------------------------------------------------------

    def _advance_work(self) -> None:
        for work in list(self.state.work.values()):
            if work.sent or work.running:
                continue
            if work.result is not None and work.result.is_dir():
                self._send(work)
            elif not self.stop.is_set() and self._running() < self.max_concurrent:
                self._start(work)

    def _start(self, work: Work) -> None:
        blocks_left = max(0, work.deadline - self.head)
        # the run ends DEADLINE_MARGIN_BLOCKS before the assignment deadline, leaving time to send the result
        deadline = time.monotonic() + max(0, blocks_left - DEADLINE_MARGIN_BLOCKS) * self._block_seconds()
        work.running = True
        self._notice("running", submission_id=work.submission_id, task_id=work.task_id, runner=self.runner.name,
                     blocks_left=blocks_left)

        def target() -> None:
            started = time.monotonic()
            try:
                result = self.runner.run(work.directory, self.task_args, self.data, deadline)
                self.queue.put(RunDone(work.submission_id, result, None, time.monotonic() - started))
            except DecentralMLError as exc:
                self.queue.put(RunDone(work.submission_id, None, exc.message))
            except Exception as exc:  # noqa: BLE001 - a runner fault ends this task, not the node
                self.queue.put(RunDone(work.submission_id, None, f"{type(exc).__name__}: {exc}"))

        threading.Thread(target=target, name=f"task-{work.submission_id}", daemon=True).start()

    def _send(self, work: Work) -> None:
        assert work.result is not None
        if work.submission_id not in self.state.pending_send:
            self.state.pending_send[work.submission_id] = self._record(
                "sending", submission_id=work.submission_id, task_id=work.task_id)
        try:
            sent = send_result(self._chain(), self.keypair, self.store, work.submission_id, work.result)
        except StorageError as exc:
            work.send_failures += 1
            if work.send_failures >= MAX_SEND_ATTEMPTS:
                self._finish(work, "failed", reason=f"upload failed {work.send_failures} times: {exc.message}")
            else:
                self._notice("storage_retry", submission_id=work.submission_id, attempt=work.send_failures,
                             message=exc.message)
            return
        except DispatchError as exc:
            self._finish(work, "failed", reason=exc.message)
            return
        work.sent = True
        self.state.pending_send.pop(work.submission_id, None)
        self._record("sent", submission_id=work.submission_id, task_id=work.task_id, result=sent.result.uri,
                     digest=sent.result.digest_hex)
