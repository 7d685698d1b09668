"""An in-memory model of the DecentralMLModule behind the ChainClient interface.

The CLI tests use it to exercise commands and use cases end to end without a
node; the integration tests run the same flows against the real dev node.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from decentralml.amounts import TokenInfo
from decentralml.chain import errors as chain_errors
from decentralml.chain.client import TaskFilter, TaskListing, TaskOrder, filter_tasks
from decentralml.chain.pallet import PalletLimits
from decentralml.chain.types import (
    Balance,
    Receipt,
    Submission,
    SubmissionStatus,
    Task,
    TaskAssets,
    TaskStatus,
    TaskType,
    Validation,
    ValidationStrategy,
)
from decentralml.errors import NotFoundError, TransactionError
from decentralml.storage.reference import Reference

PALLET = "DecentralMLModule"
DOCS = {
    "TaskNotFound": "The task does not exist: check the id with `list-tasks`.",
    "SubmissionNotFound": "The submission does not exist: check the id with `list-results`.",
    "NotTaskCreator": "Only the task's creator may do this: sign with the creator's account.",
    "NotAssignedWorker": "Only the assigned worker may send this result.",
    "NoFreeSlot": "The task has no free slot: wait for a rejection or pick another task.",
    "TaskExpired": "The task has expired: pick another task.",
    "InsufficientBalance": "Insufficient balance to escrow the rewards.",
    "ResultsPendingDecision": "Results are waiting for validation or a decision: accept or reject them before closing.",
}


def _bytes(value: Any) -> bytes:
    if isinstance(value, str) and value.startswith("0x"):
        return bytes.fromhex(value[2:])
    if isinstance(value, str):
        return value.encode()
    return bytes(value)


@dataclass
class FakeChain:
    token: TokenInfo = field(default_factory=TokenInfo)
    block: int = 10
    balances: dict[str, int] = field(default_factory=dict)
    tasks: dict[int, Task] = field(default_factory=dict)
    submissions: dict[int, Submission] = field(default_factory=dict)
    calls: list[tuple[str, str, dict]] = field(default_factory=list)
    fail_next: Exception | None = None
    url: str = "ws://fake:9944"

    # -- ChainClient interface ---------------------------------------------
    def close(self) -> None:
        pass

    def constant(self, module: str, name: str) -> int:
        return {("DecentralMLModule", "MinReward"): 10**10, ("Balances", "ExistentialDeposit"): 10**9}[(module, name)]

    @property
    def limits(self) -> PalletLimits:
        return PalletLimits(
            max_question_len=1024, max_uri_len=512, max_inline_result_len=4096, max_assignments_per_task=100,
            min_reward=self.constant(PALLET, "MinReward"),
        )

    def block_number(self) -> int:
        return self.block

    def balance(self, address: str) -> Balance:
        return Balance(address, self.balances.get(address, 0), 0, 0)

    def get_task(self, task_id: int) -> Task:
        if task_id not in self.tasks:
            raise NotFoundError(f"There is no task {task_id}.", name="TaskNotFound")
        return self.tasks[task_id]

    def list_tasks(self, criteria: TaskFilter = TaskFilter()) -> list[Task]:
        return filter_tasks(list(self.tasks.values()), criteria, self.block)

    def iter_tasks(
        self, criteria: TaskFilter = TaskFilter(), *, limit: int | None = None, offset: int = 0, order: TaskOrder = TaskOrder.NEWEST
    ) -> TaskListing:
        rows = filter_tasks(list(self.tasks.values()), criteria, self.block)
        if order is not TaskOrder.OLDEST:
            rows.reverse()
        end = None if limit is None else offset + limit
        return TaskListing(iter(rows[offset:end]), self.block, len(self.tasks))

    def get_submission(self, submission_id: int) -> Submission:
        if submission_id not in self.submissions:
            raise NotFoundError(f"There is no submission {submission_id}.", name="SubmissionNotFound")
        return self.submissions[submission_id]

    def task_submissions(self, task_id: int) -> list[Submission]:
        self.get_task(task_id)
        return [s for _, s in sorted(self.submissions.items()) if s.task_id == task_id]

    def worker_submissions(self, address: str) -> list[Submission]:
        return [s for _, s in sorted(self.submissions.items()) if s.worker == address]

    def submit(self, keypair: Any, function: str, params: dict, module: str = PALLET) -> Receipt:
        self.calls.append((module, function, dict(params)))
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        who = keypair.ss58_address
        events = getattr(self, f"_{function}")(who, params)
        self.block += 1
        tx = "0x" + hashlib.sha256(f"{len(self.calls)}".encode()).hexdigest()
        events = [*events, ("System", "ExtrinsicSuccess", {})]
        return Receipt(tx, "0x" + "bb" * 32, self.block, tuple(events), 100)

    # -- pallet model ----------------------------------------------------------
    @staticmethod
    def _fail(name: str) -> Exception:
        return chain_errors.dispatch_error(PALLET, name, DOCS[name])

    def _task(self, task_id: int) -> Task:
        if task_id not in self.tasks:
            raise self._fail("TaskNotFound")
        return self.tasks[task_id]

    def _sub(self, submission_id: int) -> Submission:
        if submission_id not in self.submissions:
            raise self._fail("SubmissionNotFound")
        return self.submissions[submission_id]

    def _move(self, sender: str, dest: str, amount: int) -> None:
        if self.balances.get(sender, 0) < amount:
            raise chain_errors.generic_dispatch_error({"Token": "FundsUnavailable"})
        self.balances[sender] -= amount
        self.balances[dest] = self.balances.get(dest, 0) + amount

    def _create_task(self, who: str, p: dict) -> list:
        task_id = len(self.tasks) + 1
        escrow = p["pays_amount"] * p["max_assignments"]
        if self.balances.get(who, 0) < escrow:
            raise self._fail("InsufficientBalance")
        self._move(who, f"escrow-{task_id}", escrow)
        assets = TaskAssets.from_chain(p["assets"])
        self.tasks[task_id] = Task(
            task_id, who, TaskType(p["task_type"]), _bytes(p["question"]).decode(), p["pays_amount"], p["max_assignments"],
            ValidationStrategy(p["validation_strategy"]), p["expiration_block"], p["assignment_deadline"], assets,
            TaskStatus.OPEN, self.block, 0, 0, 0,
        )
        return [(PALLET, "TaskCreated", {"task_id": task_id, "creator": who, "escrow": escrow})]

    def _assign_task(self, who: str, p: dict) -> list:
        task = self._task(p["task_id"])
        if task.expiration_block <= self.block:
            raise self._fail("TaskExpired")
        if task.assigned + task.accepted >= task.max_assignments:
            raise self._fail("NoFreeSlot")
        sid = len(self.submissions) + 1
        deadline = self.block + task.assignment_deadline
        self.submissions[sid] = Submission(
            sid, task.task_id, who, SubmissionStatus.ASSIGNED, self.block, deadline, None, None, None, None, None, 0
        )
        self.tasks[task.task_id] = replace(task, assigned=task.assigned + 1)
        return [(PALLET, "TaskAssigned", {"task_id": task.task_id, "submission_id": sid, "worker": who, "deadline": deadline})]

    def _send_task_result(self, who: str, p: dict) -> list:
        sub = self._sub(p["submission_id"])
        if sub.worker != who:
            raise self._fail("NotAssignedWorker")
        result = Reference.from_chain(p["result"])
        lineage = _bytes(p["lineage_digest"]) if p.get("lineage_digest") else None
        sub = replace(sub, status=SubmissionStatus.PENDING_VALIDATION, result=result,
                      inline_result=_bytes(p["inline_result"]), lineage_digest=lineage, submitted_at=self.block)
        self.submissions[sub.submission_id] = sub
        events = [(PALLET, "TaskResultSubmitted", {"submission_id": sub.submission_id})]
        if self.tasks[sub.task_id].validation_strategy is ValidationStrategy.AUTO_ACCEPT:
            events += self._accept_task_result(self.tasks[sub.task_id].creator, {"submission_id": sub.submission_id})
        return events

    def _creator_sub(self, who: str, submission_id: int) -> tuple[Submission, Task]:
        sub = self._sub(submission_id)
        task = self._task(sub.task_id)
        if task.creator != who:
            raise self._fail("NotTaskCreator")
        return sub, task

    def _validate_task_result(self, who: str, p: dict) -> list:
        sub, _ = self._creator_sub(who, p["submission_id"])
        self.submissions[sub.submission_id] = replace(
            sub, status=SubmissionStatus.VALIDATED, validation=Validation(p["passed"], p["score"])
        )
        return [(PALLET, "TaskResultValidated", {"submission_id": sub.submission_id})]

    def _accept_task_result(self, who: str, p: dict) -> list:
        sub, task = self._creator_sub(who, p["submission_id"])
        self._move(f"escrow-{task.task_id}", sub.worker, task.pays_amount)
        self.submissions[sub.submission_id] = replace(sub, status=SubmissionStatus.ACCEPTED, paid=task.pays_amount)
        task = replace(task, assigned=task.assigned - 1, accepted=task.accepted + 1, paid=task.paid + task.pays_amount)
        events = [(PALLET, "TaskResultAccepted", {"submission_id": sub.submission_id, "worker": sub.worker, "reward": task.pays_amount})]
        if task.accepted == task.max_assignments:
            task = replace(task, status=TaskStatus.COMPLETED)
            events.append((PALLET, "TaskCompleted", {"task_id": task.task_id}))
        self.tasks[task.task_id] = task
        return events

    def _reject_task_result(self, who: str, p: dict) -> list:
        sub, task = self._creator_sub(who, p["submission_id"])
        self.submissions[sub.submission_id] = replace(sub, status=SubmissionStatus.REJECTED)
        self.tasks[task.task_id] = replace(task, assigned=task.assigned - 1)
        return [(PALLET, "TaskResultRejected", {"submission_id": sub.submission_id})]

    def _close_task(self, who: str, p: dict) -> list:
        task = self._task(p["task_id"])
        if task.creator != who:
            raise self._fail("NotTaskCreator")
        if any(s.task_id == task.task_id and s.status in (SubmissionStatus.PENDING_VALIDATION, SubmissionStatus.VALIDATED)
               for s in self.submissions.values()):
            raise self._fail("ResultsPendingDecision")
        refund = self.balances.pop(f"escrow-{task.task_id}", 0)
        self.balances[who] = self.balances.get(who, 0) + refund
        self.tasks[task.task_id] = replace(task, status=TaskStatus.CLOSED)
        return [(PALLET, "TaskClosed", {"task_id": task.task_id, "refund": refund})]

    def _transfer_keep_alive(self, who: str, p: dict) -> list:
        if self.balances.get(who, 0) - p["value"] < 10**9:
            raise TransactionError("Insufficient funds to pay the transaction fee.")
        self._move(who, p["dest"], p["value"])
        return [("Balances", "Transfer", {"from": who, "to": p["dest"], "amount": p["value"]})]
