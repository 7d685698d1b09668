"""The pallet's checks of each signed call, made on the state read now, before anything is sent.

One function per call, in the pallet's own order (``pallet-spec/pallet/src/lib.rs``), each
raising the error the pallet would report: :class:`~decentralml.errors.PreconditionError`
(exit 7) for a state the call cannot act on, :class:`~decentralml.errors.PermissionDeniedError`
(exit 9) for the wrong signer, both carrying the pallet's error ``name``. A refused check
means no transaction was sent and no fee paid. A transaction is included in the next block at
the earliest, so checks that depend on time use ``current_block + 1``.
"""

from __future__ import annotations

from collections.abc import Iterable

from decentralml.chain.pallet import PALLET
from decentralml.chain.types import AWAITING_DECISION, WITH_RESULT, Submission, SubmissionStatus, Task, TaskStatus
from decentralml.errors import PermissionDeniedError, PreconditionError

SIGN_AS_CREATOR = "Sign with the creator's account (--account or --suri)."


def holds_slot(submission: Submission, next_block: int) -> bool:
    """Whether a submission still holds its slot at ``next_block``: Assigned and within its deadline
    (past it, the pallet releases the slot before a call that needs one)."""
    return submission.status is SubmissionStatus.ASSIGNED and next_block <= submission.deadline


def refused(message: str, name: str, hint: str | None) -> PreconditionError:
    """A pallet condition found before submitting."""
    return PreconditionError(message, hint=hint, module=PALLET, name=name)


def require_creator(task: Task, address: str, action: str) -> None:
    """``NotTaskCreator``: only the task's creator may ``action`` (e.g. "judge its results")."""
    if task.creator != address:
        raise PermissionDeniedError(
            f"Only the creator of task {task.task_id} ({task.creator}) can {action}.",
            hint=SIGN_AS_CREATOR, module=PALLET, name="NotTaskCreator",
        )


def check_assignable(task: Task, address: str, current_block: int, submissions: Iterable[Submission] = ()) -> None:
    """``assign_task``: the task is open, not expired by the next block, not the signer's own; the
    signer holds no live submission of it (``AlreadyAssigned``) and a slot is free once the
    assignments past their deadline are released, as the call does first (``NoFreeSlot``).

    ``submissions``: the task's submissions (``ChainClient.task_submissions``).
    """
    if task.status is not TaskStatus.OPEN:
        raise refused(f"Task {task.task_id} is {task.status.value}, not open.", "TaskNotOpen", "Pick an open task.")
    if task.expiration_block <= current_block + 1:
        raise refused(
            f"Task {task.task_id} {'expired' if task.expiration_block <= current_block else 'expires'} at block"
            f" {task.expiration_block}: no slot can be taken any more.", "TaskExpired", "Pick another task.",
        )
    if task.creator == address:
        raise PermissionDeniedError(
            f"You created task {task.task_id}: a creator cannot take its own task.",
            hint="Use a contributor account.", module=PALLET, name="CreatorCannotAssign",
        )
    next_block = current_block + 1
    submissions = list(submissions)
    released = [s for s in submissions if s.status is SubmissionStatus.ASSIGNED and not holds_slot(s, next_block)]
    live = [s for s in submissions if s.status in AWAITING_DECISION or holds_slot(s, next_block)]
    held = next((s for s in live if s.worker == address), None)
    if held is not None:
        raise refused(
            f"You hold submission {held.submission_id} of task {task.task_id} already ({held.status.value}).",
            "AlreadyAssigned", f"Finish it: `decentralml run-task {held.submission_id}`, then `send-result`.",
        )
    if not task.assigned - len(released) + task.accepted < task.max_assignments:
        raise refused(
            f"Task {task.task_id} has no free slot: its {task.max_assignments} are taken or accepted.",
            "NoFreeSlot", f"Pick another task, or wait for a slot to be released (`decentralml show-task {task.task_id}`).",
        )


def check_decidable(submission: Submission, task: Task, address: str) -> None:
    """``accept_task_result`` / ``reject_task_result``: the creator signs, the result awaits a decision."""
    require_creator(task, address, "judge its results")
    if submission.status not in AWAITING_DECISION:
        raise refused(
            f"Submission {submission.submission_id} is {submission.status.value}: only a result pending"
            " validation or validated can be accepted or rejected.", "NotAwaitingDecision",
            f"It was decided already or has no result yet; see `decentralml list-results {submission.task_id}`.",
        )


def check_validatable(submission: Submission, task: Task, address: str) -> None:
    """``validate_task_result``: the creator signs, the result is pending validation."""
    require_creator(task, address, "judge its results")
    if submission.status is not SubmissionStatus.PENDING_VALIDATION:
        raise refused(
            f"Submission {submission.submission_id} is {submission.status.value}: only a result pending"
            " validation can be validated.", "NotPendingValidation",
            "Accept or reject it with `decentralml accept-result` or `reject-result`."
            if submission.status is SubmissionStatus.VALIDATED else
            f"See `decentralml list-results {submission.task_id}`.",
        )


def check_closable(task: Task, submissions: Iterable[Submission], address: str, current_block: int) -> None:
    """``close_task``: the task is open; before its expiry only the creator closes it, with no result
    awaiting a decision and no slot held within its deadline."""
    own = task.creator == address
    if task.status is not TaskStatus.OPEN:
        raise refused(
            f"Task {task.task_id} is {task.status.value} already: there is nothing left to close.", "TaskNotOpen",
            "Its unspent escrow was refunded when it closed." if own and task.status is TaskStatus.CLOSED else None,
        )
    now = current_block + 1
    expired = now >= task.expiration_block
    if not own and not expired:
        raise PermissionDeniedError(
            f"Only the creator of task {task.task_id} ({task.creator}) can close it before it expires at block"
            f" {task.expiration_block}.", hint=f"{SIGN_AS_CREATOR} Anyone may close it from that block.",
            module=PALLET, name="CloseNotAllowed",
        )
    live = [s for s in submissions if s.task_id == task.task_id]
    pending = [s.submission_id for s in live if s.status in AWAITING_DECISION]
    if pending:
        raise refused(
            f"Task {task.task_id} has results awaiting a decision (submission {', '.join(map(str, pending))}).",
            "ResultsPendingDecision", "Accept or reject them first.",
        )
    held = [s.submission_id for s in live if holds_slot(s, now)]
    if held and not expired:
        raise refused(
            f"Workers hold slots of task {task.task_id} within their deadline (submission"
            f" {', '.join(map(str, held))}).", "AssignmentsInProgress",
            "Wait for their results or their deadlines.",
        )


def check_sendable(submission: Submission, address: str, current_block: int) -> None:
    """``send_task_result``: the assigned worker signs, the slot is Assigned and within its deadline
    (the pallet's order: an expired slot, then any other state, then the deadline)."""
    sid = submission.submission_id
    if submission.worker != address:
        raise PermissionDeniedError(
            f"Submission {sid} is assigned to {submission.worker}, not to {address}.",
            hint="Sign with the worker's account (--account or --suri).", module=PALLET, name="NotAssignedWorker",
        )
    if submission.status is SubmissionStatus.EXPIRED or (
        submission.status is SubmissionStatus.ASSIGNED and submission.deadline and current_block >= submission.deadline
    ):
        raise refused(
            f"The deadline of submission {sid} passed at block {submission.deadline}.", "AssignmentDeadlinePassed",
            "Take a new slot with `decentralml assign-task`.",
        )
    if submission.status is not SubmissionStatus.ASSIGNED:
        raise refused(
            f"Submission {sid} is {submission.status.value}: a result can only be sent while Assigned.",
            "NotAwaitingResult", "Its result was sent already; see `decentralml show-result"
            f" {sid}`." if submission.status in WITH_RESULT else None,
        )
