"""The DecentralML pallet (pallet-spec/pallet/src/lib.rs), call for call.

Records are kept as SCALE in storage and decoded into mutable dataclasses;
checks run in the pallet's order so that every failure raises the same
error the Rust pallet raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from decentralml.primitives.hashing import blake2_128_concat, storage_prefix
from decentralml.primitives.scale import U64_MAX, U128_MAX, CodecError, Reader, boolean, compact, option, u32, u64, u128, vec_u8

from . import balances
from .balances import Preservation
from .context import Context
from .types import ArithmeticError_, DispatchFailure, Weight, arithmetic_error

PALLET = "DecentralMLModule"
PALLET_ID = b"decentml"

NEXT_TASK_ID = storage_prefix(PALLET, "NextTaskId")
TASKS = storage_prefix(PALLET, "Tasks")
NEXT_SUBMISSION_ID = storage_prefix(PALLET, "NextSubmissionId")
SUBMISSIONS = storage_prefix(PALLET, "Submissions")
TASK_SUBMISSIONS = storage_prefix(PALLET, "TaskSubmissions")
WORKER_SUBMISSIONS = storage_prefix(PALLET, "WorkerSubmissions")
OPEN_TASKS = storage_prefix(PALLET, "OpenTasks")
LIVE_SUBMISSIONS = storage_prefix(PALLET, "LiveSubmissions")

# TaskStatus / ResultSubmissionStatus / ValidationStrategy indices
OPEN, COMPLETED, CLOSED = 0, 1, 2
ASSIGNED, PENDING_VALIDATION, VALIDATED, ACCEPTED, REJECTED, EXPIRED = range(6)
AUTO_ACCEPT, MANUAL_ACCEPT, CUSTOM_ACCEPT = 0, 1, 2
N_TASK_TYPES, N_STRATEGIES, N_STORAGE_TYPES = 3, 3, 6

# Normative weights (pallet-spec/pallet/src/weights.rs): per call, the execution reference
# time, the worst-case storage (reads, writes) priced by System.DbWeight, and the proof size;
# assign_task and close_task add PER_SUBMISSION_WEIGHTS for MaxAssignmentsPerTask live
# submissions; create_task and send_task_result add PER_BYTE per argument byte.
PER_BYTE = 2_000
CALL_WEIGHTS: dict[str, tuple[int, tuple[int, int], int]] = {
    "create_task": (250_000_000, (3, 5), 5_709),
    "assign_task": (200_000_000, (3, 6), 8_516),
    "send_task_result": (150_000_000, (5, 6), 20_474),
    "validate_task_result": (80_000_000, (2, 1), 11_967),
    "accept_task_result": (200_000_000, (5, 6), 20_474),
    "reject_task_result": (100_000_000, (3, 3), 15_268),
    "close_task": (300_000_000, (4, 5), 13_219),
}
PER_SUBMISSION_WEIGHTS: dict[str, tuple[int, tuple[int, int], int]] = {
    "assign_task": (5_000_000, (1, 1), 7_255),
    "close_task": (5_000_000, (1, 1), 7_255),
}


def escrow_account(task_id: int) -> bytes:
    """``PalletId(b"decentml").into_sub_account_truncating(task_id)``."""
    return (b"modl" + PALLET_ID + u64(task_id)).ljust(32, b"\x00")


@dataclass(frozen=True, slots=True)
class Limits:
    max_question_len: int
    max_uri_len: int
    max_inline_result_len: int
    max_assignments: int
    min_reward: int


@dataclass(frozen=True, slots=True)
class AssetRef:
    storage: int
    uri: bytes
    digest: bytes

    def encode(self) -> bytes:
        return bytes((self.storage,)) + vec_u8(self.uri) + self.digest


def decode_asset_ref(r: Reader, lim: Limits) -> AssetRef:
    storage = r.u8()
    if storage >= N_STORAGE_TYPES:
        raise CodecError("invalid StorageType")
    uri = r.vec_u8(lim.max_uri_len)
    return AssetRef(storage, uri, r.take(32))


@dataclass(frozen=True, slots=True)
class TaskAssets:
    variant: int  # equals the TaskType it belongs to
    refs: tuple[AssetRef, ...]
    has_base_model: bool = False

    def encode(self) -> bytes:
        out = bytes((self.variant,)) + self.refs[0].encode()
        if self.variant == 1:
            out += option(self.refs[1].encode() if self.has_base_model else None)
        return out

    def uri_len(self) -> int:
        return sum(len(r.uri) for r in self.refs)


def decode_task_assets(r: Reader, lim: Limits) -> TaskAssets:
    variant = r.u8()
    if variant >= N_TASK_TYPES:
        raise CodecError("invalid TaskAssets variant")
    first = decode_asset_ref(r, lim)
    if variant == 1 and r.option_flag():
        return TaskAssets(variant, (first, decode_asset_ref(r, lim)), True)
    return TaskAssets(variant, (first,))


@dataclass(slots=True)
class Task:
    creator: bytes
    task_type: int
    question: bytes
    pays_amount: int
    max_assignments: int
    validation_strategy: int
    expiration_block: int
    assignment_deadline: int
    assets: TaskAssets
    status: int
    created_at: int
    assigned: int
    accepted: int
    paid: int

    def encode(self) -> bytes:
        return b"".join(
            (
                self.creator,
                bytes((self.task_type,)),
                vec_u8(self.question),
                u128(self.pays_amount),
                u32(self.max_assignments),
                bytes((self.validation_strategy,)),
                u32(self.expiration_block),
                u32(self.assignment_deadline),
                self.assets.encode(),
                bytes((self.status,)),
                u32(self.created_at),
                u32(self.assigned),
                u32(self.accepted),
                u128(self.paid),
            )
        )

    @classmethod
    def decode(cls, data: bytes, lim: Limits) -> Task:
        r = Reader(data)
        return cls(
            r.take(32), r.u8(), r.vec_u8(), r.u128(), r.u32(), r.u8(), r.u32(), r.u32(),
            decode_task_assets(r, lim), r.u8(), r.u32(), r.u32(), r.u32(), r.u128(),
        )  # fmt: skip


@dataclass(slots=True)
class Submission:
    task_id: int
    worker: bytes
    status: int
    assigned_at: int
    deadline: int
    result: AssetRef | None = None
    inline_result: bytes | None = None
    lineage_digest: bytes | None = None
    submitted_at: int | None = None
    validation: tuple[bool, int] | None = None
    paid: int = 0

    def encode(self) -> bytes:
        return b"".join(
            (
                u64(self.task_id),
                self.worker,
                bytes((self.status,)),
                u32(self.assigned_at),
                u32(self.deadline),
                option(self.result.encode() if self.result else None),
                option(vec_u8(self.inline_result) if self.inline_result is not None else None),
                option(self.lineage_digest),
                option(u32(self.submitted_at) if self.submitted_at is not None else None),
                option(boolean(self.validation[0]) + u32(self.validation[1]) if self.validation else None),
                u128(self.paid),
            )
        )

    @classmethod
    def decode(cls, data: bytes, lim: Limits) -> Submission:
        r = Reader(data)
        sub = cls(r.u64(), r.take(32), r.u8(), r.u32(), r.u32())
        sub.result = decode_asset_ref(r, lim) if r.option_flag() else None
        sub.inline_result = r.vec_u8() if r.option_flag() else None
        sub.lineage_digest = r.take(32) if r.option_flag() else None
        sub.submitted_at = r.u32() if r.option_flag() else None
        sub.validation = (r.boolean(), r.u32()) if r.option_flag() else None
        sub.paid = r.u128()
        return sub


# ---- calls: decoding and weights ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateTask:
    task_type: int
    question: bytes
    pays_amount: int
    max_assignments: int
    validation_strategy: int
    expiration_block: int
    assignment_deadline: int
    assets: TaskAssets


@dataclass(frozen=True, slots=True)
class SendTaskResult:
    submission_id: int
    result: AssetRef
    inline_result: bytes | None
    lineage_digest: bytes | None


def decode_call(name: str, r: Reader, lim: Limits) -> Any:
    """Decode the arguments of call ``name``."""
    if name == "create_task":
        task_type = r.u8()
        if task_type >= N_TASK_TYPES:
            raise CodecError("invalid TaskType")
        question = r.vec_u8(lim.max_question_len)
        pays = r.compact_u128()
        max_assignments = r.u32()
        strategy = r.u8()
        if strategy >= N_STRATEGIES:
            raise CodecError("invalid ValidationStrategy")
        return CreateTask(task_type, question, pays, max_assignments, strategy, r.u32(), r.u32(), decode_task_assets(r, lim))
    if name in ("assign_task", "close_task", "accept_task_result", "reject_task_result"):
        return r.u64()
    if name == "send_task_result":
        sid = r.u64()
        result = decode_asset_ref(r, lim)
        inline = r.vec_u8(lim.max_inline_result_len) if r.option_flag() else None
        lineage = r.take(32) if r.option_flag() else None
        return SendTaskResult(sid, result, inline, lineage)
    if name == "validate_task_result":
        return (r.u64(), r.boolean(), r.u32())
    raise CodecError(f"unknown DecentralMLModule call {name}")


def _priced(part: tuple[int, tuple[int, int], int], db_weight: tuple[int, int]) -> Weight:
    exec_time, (reads, writes), proof = part
    return Weight(exec_time + reads * db_weight[0] + writes * db_weight[1], proof)


def call_weight(name: str, args: Any, limits: Limits, db_weight: tuple[int, int]) -> Weight:
    """The declared weight of a DecentralMLModule call; ``db_weight`` = System.DbWeight (read, write)."""
    weight = _priced(CALL_WEIGHTS[name], db_weight)
    if name == "create_task":
        weight = weight + Weight(PER_BYTE * (len(args.question) + args.assets.uri_len()))
    elif name == "send_task_result":
        b = len(args.result.uri) + (len(args.inline_result) if args.inline_result is not None else 0)
        weight = weight + Weight(PER_BYTE * b)
    elif name in PER_SUBMISSION_WEIGHTS:
        per = _priced(PER_SUBMISSION_WEIGHTS[name], db_weight)
        weight = weight + Weight(per.ref_time * limits.max_assignments, per.proof_size * limits.max_assignments)
    return weight


# ---- dispatch -------------------------------------------------------------------------


class Pallet:
    """DecentralMLModule over a :class:`Context`."""

    def __init__(self, ctx: Context, lim: Limits) -> None:
        self.ctx = ctx
        self.lim = lim
        self.ov = ctx.overlay

    def err(self, name: str) -> DispatchFailure:
        return self.ctx.idx.error(PALLET, name)

    def event(self, name: str, fields: bytes) -> None:
        self.ctx.deposit_event(PALLET, name, fields)

    # storage helpers
    def _u64(self, key: bytes) -> int:
        raw = self.ov.get(key)
        return int.from_bytes(raw, "little") if raw else 0

    def get_task(self, task_id: int) -> Task | None:
        raw = self.ov.get(TASKS + blake2_128_concat(u64(task_id)))
        return Task.decode(raw, self.lim) if raw is not None else None

    def put_task(self, task_id: int, task: Task) -> None:
        self.ov.set(TASKS + blake2_128_concat(u64(task_id)), task.encode())

    def get_sub(self, sid: int) -> Submission | None:
        raw = self.ov.get(SUBMISSIONS + blake2_128_concat(u64(sid)))
        return Submission.decode(raw, self.lim) if raw is not None else None

    def put_sub(self, sid: int, sub: Submission) -> None:
        self.ov.set(SUBMISSIONS + blake2_128_concat(u64(sid)), sub.encode())

    def get_live(self, task_id: int) -> list[int]:
        raw = self.ov.get(LIVE_SUBMISSIONS + blake2_128_concat(u64(task_id)))
        if not raw:
            return []
        r = Reader(raw)
        return [r.u64() for _ in range(r.compact())]

    def put_live(self, task_id: int, live: list[int]) -> None:
        key = LIVE_SUBMISSIONS + blake2_128_concat(u64(task_id))
        if live:
            self.ov.set(key, compact(len(live)) + b"".join(u64(s) for s in live))
        else:
            self.ov.kill(key)  # ValueQuery: the empty vector is not stored

    def remove_from_live(self, task_id: int, sid: int) -> None:
        live = self.get_live(task_id)
        if live:
            self.put_live(task_id, [s for s in live if s != sid])

    # calls
    def dispatch(self, name: str, who: bytes, args: Any) -> None:
        getattr(self, name)(who, args)

    def create_task(self, creator: bytes, a: CreateTask) -> None:
        now = self.ctx.number
        if not a.question:
            raise self.err("EmptyQuestion")
        if a.pays_amount < self.lim.min_reward:
            raise self.err("RewardTooLow")
        if not 1 <= a.max_assignments <= self.lim.max_assignments:
            raise self.err("InvalidMaxAssignments")
        if a.expiration_block <= now:
            raise self.err("ExpirationInPast")
        if a.assignment_deadline == 0 or a.assignment_deadline > max(a.expiration_block - now, 0):
            raise self.err("InvalidAssignmentDeadline")
        if a.assets.variant != a.task_type:
            raise self.err("AssetsMismatchTaskType")
        if any(not r.uri for r in a.assets.refs):
            raise self.err("EmptyUri")
        escrow = a.pays_amount * a.max_assignments
        if escrow > U128_MAX:
            raise self.err("EscrowOverflow")
        task_id = self._u64(NEXT_TASK_ID)
        if task_id + 1 > U64_MAX:
            raise arithmetic_error(ArithmeticError_.OVERFLOW)
        try:
            balances.transfer(self.ctx, creator, escrow_account(task_id), escrow, Preservation.PRESERVE)
        except DispatchFailure:
            raise self.err("InsufficientBalance") from None
        self.ov.set(NEXT_TASK_ID, u64(task_id + 1))
        task = Task(
            creator, a.task_type, a.question, a.pays_amount, a.max_assignments, a.validation_strategy,
            a.expiration_block, a.assignment_deadline, a.assets, OPEN, now, 0, 0, 0,
        )  # fmt: skip
        self.put_task(task_id, task)
        self.ov.set(OPEN_TASKS + blake2_128_concat(u64(task_id)), b"")
        self.event(
            "TaskCreated",
            u64(task_id) + creator + bytes((a.task_type,)) + u128(a.pays_amount) + u32(a.max_assignments)
            + u128(escrow) + u32(a.expiration_block),
        )  # fmt: skip

    def assign_task(self, worker: bytes, task_id: int) -> None:
        now = self.ctx.number
        task = self.get_task(task_id)
        if task is None:
            raise self.err("TaskNotFound")
        if task.status != OPEN:
            raise self.err("TaskNotOpen")
        if not now < task.expiration_block:
            raise self.err("TaskExpired")
        if worker == task.creator:
            raise self.err("CreatorCannotAssign")
        live = self.release_expired(task_id, task, self.get_live(task_id), now, False)
        for sid in live:
            sub = self.get_sub(sid)
            if sub is None:
                raise self.err("SubmissionNotFound")
            if sub.worker == worker:
                raise self.err("AlreadyAssigned")
        if not task.assigned + task.accepted < task.max_assignments:
            raise self.err("NoFreeSlot")
        sid = self._u64(NEXT_SUBMISSION_ID)
        if sid + 1 > U64_MAX:
            raise arithmetic_error(ArithmeticError_.OVERFLOW)
        if len(live) >= self.lim.max_assignments:
            raise self.err("NoFreeSlot")
        live.append(sid)
        deadline = min(now + task.assignment_deadline, task.expiration_block)
        self.ov.set(NEXT_SUBMISSION_ID, u64(sid + 1))
        self.put_sub(sid, Submission(task_id, worker, ASSIGNED, now, deadline))
        self.ov.set(TASK_SUBMISSIONS + blake2_128_concat(u64(task_id)) + blake2_128_concat(u64(sid)), b"")
        self.ov.set(WORKER_SUBMISSIONS + blake2_128_concat(worker) + blake2_128_concat(u64(sid)), b"")
        task.assigned += 1
        self.put_task(task_id, task)
        self.put_live(task_id, live)
        self.event("TaskAssigned", u64(task_id) + u64(sid) + worker + u32(deadline))

    def send_task_result(self, worker: bytes, a: SendTaskResult) -> None:
        now = self.ctx.number
        sub = self.get_sub(a.submission_id)
        if sub is None:
            raise self.err("SubmissionNotFound")
        if sub.worker != worker:
            raise self.err("NotAssignedWorker")
        if sub.status == EXPIRED:
            raise self.err("AssignmentDeadlinePassed")
        if sub.status != ASSIGNED:
            raise self.err("NotAwaitingResult")
        if now > sub.deadline:
            raise self.err("AssignmentDeadlinePassed")
        if not a.result.uri:
            raise self.err("EmptyUri")
        task_id = sub.task_id
        sub.status = PENDING_VALIDATION
        sub.result = a.result
        sub.inline_result = a.inline_result
        sub.lineage_digest = a.lineage_digest
        sub.submitted_at = now
        self.event("TaskResultSubmitted", u64(task_id) + u64(a.submission_id) + worker + a.result.digest)
        task = self.get_task(task_id)
        if task is None:
            raise self.err("TaskNotFound")
        if task.validation_strategy == AUTO_ACCEPT:
            self.do_accept(a.submission_id, sub, task)
            self.put_task(task_id, task)
        self.put_sub(a.submission_id, sub)

    def validate_task_result(self, who: bytes, args: tuple[int, bool, int]) -> None:
        sid, passed, score = args
        sub = self.get_sub(sid)
        if sub is None:
            raise self.err("SubmissionNotFound")
        task = self.get_task(sub.task_id)
        if task is None:
            raise self.err("TaskNotFound")
        if who != task.creator:
            raise self.err("NotTaskCreator")
        if score > 10_000:
            raise self.err("InvalidScore")
        if sub.status != PENDING_VALIDATION:
            raise self.err("NotPendingValidation")
        sub.status = VALIDATED
        sub.validation = (passed, score)
        self.put_sub(sid, sub)
        self.event("TaskResultValidated", u64(sub.task_id) + u64(sid) + boolean(passed) + u32(score))

    def _sub_and_task_for_decision(self, who: bytes, sid: int) -> tuple[Submission, Task]:
        sub = self.get_sub(sid)
        if sub is None:
            raise self.err("SubmissionNotFound")
        task = self.get_task(sub.task_id)
        if task is None:
            raise self.err("TaskNotFound")
        if who != task.creator:
            raise self.err("NotTaskCreator")
        if sub.status not in (PENDING_VALIDATION, VALIDATED):
            raise self.err("NotAwaitingDecision")
        return sub, task

    def accept_task_result(self, who: bytes, sid: int) -> None:
        sub, task = self._sub_and_task_for_decision(who, sid)
        self.do_accept(sid, sub, task)
        self.put_task(sub.task_id, task)
        self.put_sub(sid, sub)

    def reject_task_result(self, who: bytes, sid: int) -> None:
        sub, task = self._sub_and_task_for_decision(who, sid)
        sub.status = REJECTED
        task.assigned = max(task.assigned - 1, 0)
        self.remove_from_live(sub.task_id, sid)
        self.put_task(sub.task_id, task)
        self.put_sub(sid, sub)
        self.event("TaskResultRejected", u64(sub.task_id) + u64(sid) + sub.worker)

    def close_task(self, who: bytes, task_id: int) -> None:
        now = self.ctx.number
        task = self.get_task(task_id)
        if task is None:
            raise self.err("TaskNotFound")
        if task.status != OPEN:
            raise self.err("TaskNotOpen")
        expired = now >= task.expiration_block
        if not (who == task.creator or expired):
            raise self.err("CloseNotAllowed")
        live = self.get_live(task_id)
        subs = []
        for sid in live:
            sub = self.get_sub(sid)
            if sub is None:
                raise self.err("SubmissionNotFound")
            if sub.status in (PENDING_VALIDATION, VALIDATED):
                raise self.err("ResultsPendingDecision")
            subs.append(sub)
        for sub in subs:
            if sub.status == ASSIGNED and not expired and now <= sub.deadline:
                raise self.err("AssignmentsInProgress")
        self.release_expired(task_id, task, live, now, True)
        escrow = task.pays_amount * task.max_assignments
        if escrow > U128_MAX:
            raise self.err("EscrowOverflow")
        refund = max(escrow - task.paid, 0)
        if refund:
            balances.transfer(self.ctx, escrow_account(task_id), task.creator, refund, Preservation.EXPENDABLE)
        task.status = CLOSED
        self.put_task(task_id, task)
        self.ov.kill(OPEN_TASKS + blake2_128_concat(u64(task_id)))
        self.ov.kill(LIVE_SUBMISSIONS + blake2_128_concat(u64(task_id)))
        self.event("TaskClosed", u64(task_id) + u128(refund))

    # helpers
    def release_expired(self, task_id: int, task: Task, live: list[int], now: int, expire_all: bool) -> list[int]:
        kept = []
        for sid in live:
            sub = self.get_sub(sid)
            if sub is None:
                continue
            if sub.status == ASSIGNED and (expire_all or now > sub.deadline):
                sub.status = EXPIRED
                task.assigned = max(task.assigned - 1, 0)
                self.put_sub(sid, sub)
                self.event("AssignmentExpired", u64(task_id) + u64(sid) + sub.worker)
            else:
                kept.append(sid)
        return kept

    def do_accept(self, sid: int, sub: Submission, task: Task) -> None:
        task_id = sub.task_id
        reward = task.pays_amount
        balances.transfer(self.ctx, escrow_account(task_id), sub.worker, reward, Preservation.EXPENDABLE)
        sub.status = ACCEPTED
        sub.paid = reward
        task.assigned = max(task.assigned - 1, 0)
        task.accepted += 1
        task.paid = min(task.paid + reward, U128_MAX)
        self.remove_from_live(task_id, sid)
        self.event("TaskResultAccepted", u64(task_id) + u64(sid) + sub.worker + u128(reward))
        if task.accepted >= task.max_assignments:
            task.status = COMPLETED
            self.ov.kill(OPEN_TASKS + blake2_128_concat(u64(task_id)))
            self.ov.kill(LIVE_SUBMISSIONS + blake2_128_concat(u64(task_id)))
            self.event("TaskCompleted", u64(task_id) + u128(task.paid))
