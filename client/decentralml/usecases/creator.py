"""What a model creator does: publish a task, judge results, close the task.

No printing here: each function returns a frozen record the CLI renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from decentralml.amounts import format_amount
from decentralml.chain.client import ChainClient
from decentralml.chain.pallet import MAX_ASSIGNMENTS, MAX_BLOCK_NUMBER, MAX_SCORE, PALLET, PalletLimits
from decentralml.chain.types import Receipt, Submission, Task, TaskAssets, TaskType, ValidationStrategy
from decentralml.errors import ChainError, DecentralMLError, PreconditionError, UsageError
from decentralml.primitives.keypair import Keypair
from decentralml.storage.base import ArtifactStore, TransferObserver
from decentralml.storage.reference import Reference
from decentralml.usecases import preconditions


@dataclass(frozen=True)
class TaskSpec:
    """What a creator asks for; blocks are relative to the current block."""

    task_type: TaskType
    question: str
    pays_amount: int
    max_assignments: int
    validation_strategy: ValidationStrategy
    expires_in_blocks: int
    assignment_deadline: int

    def check(self, limits: PalletLimits | None = None) -> None:
        """Pure validation, against the pallet's ``limits`` when given (``create_task`` reads them from the chain)."""
        size = len(self.question.encode("utf-8"))
        if not self.question.strip():
            raise UsageError("The question must not be empty.")
        if limits is not None and size > limits.max_question_len:
            raise UsageError(f"The question must be 1..{limits.max_question_len} bytes of text (got {size}).")
        if self.pays_amount <= 0:
            raise UsageError("The reward must be more than zero.")
        if not 1 <= self.max_assignments <= MAX_ASSIGNMENTS:
            raise UsageError(f"--max-assignments must be between 1 and {MAX_ASSIGNMENTS} (a u32).")
        if limits is not None and self.max_assignments > limits.max_assignments_per_task:
            raise UsageError(f"--max-assignments must be between 1 and {limits.max_assignments_per_task}.")
        if not 1 <= self.expires_in_blocks <= MAX_BLOCK_NUMBER:
            raise UsageError(f"--expires-in must be between 1 and {MAX_BLOCK_NUMBER} blocks (a block number is a u32).")
        if not 1 <= self.assignment_deadline < self.expires_in_blocks:
            raise UsageError(
                "--assignment-deadline must be at least 1 block and less than --expires-in "
                f"({self.assignment_deadline} >= {self.expires_in_blocks})."
            )

    @property
    def escrow(self) -> int:
        return self.pays_amount * self.max_assignments


@dataclass(frozen=True)
class CreatedTask:
    task_id: int
    escrow: int
    expiration_block: int
    bundle: Reference
    base_model: Reference | None
    receipt: Receipt


@dataclass(frozen=True)
class Outcome:
    """The result of a creator's decision on a submission or task."""

    action: str
    task_id: int
    submission_id: int | None
    receipt: Receipt
    reward: int | None = None
    refund: int | None = None
    task_completed: bool = False


def _uploaded_hint(exc: DecentralMLError, refs: list[Reference]) -> DecentralMLError:
    where = ", ".join(f"{r.uri} (digest 0x{r.digest_hex})" for r in refs)
    note = f"Nothing on chain points at the upload: {where}; reuse or delete it."
    exc.hint = f"{exc.hint} {note}" if exc.hint else note
    return exc


def check_terms(chain: ChainClient, keypair: Keypair, spec: TaskSpec, *, refund: int = 0) -> int:
    """The pallet's ``create_task`` checks on ``spec`` against the chain now; returns the expiration block.

    ``refund`` is what the creator gets back before the task is created (the previous round's
    unspent escrow). Raises UsageError for terms the chain refuses (question, reward below the
    minimum, slots, expiry past the last block number), PreconditionError ``InsufficientBalance``
    when the free balance plus ``refund`` cannot cover the escrow and keep the existential deposit.
    """
    limits = chain.limits
    spec.check(limits)
    token = chain.token
    min_reward = limits.min_reward
    if spec.pays_amount < min_reward:
        raise UsageError(
            f"The reward {format_amount(spec.pays_amount, token)} is below the chain's minimum"
            f" of {format_amount(min_reward, token)}.",
            hint="Offer at least the minimum.",
        )
    expiration = chain.block_number() + spec.expires_in_blocks
    if expiration > MAX_BLOCK_NUMBER:
        raise UsageError(
            f"--expires-in {spec.expires_in_blocks} puts the expiry at block {expiration}, past the chain's last block"
            f" number {MAX_BLOCK_NUMBER} (a u32).",
            hint="Pass a smaller --expires-in.",
        )
    free = chain.balance(keypair.ss58_address).free + refund
    keep = int(chain.constant("Balances", "ExistentialDeposit"))
    if free < spec.escrow + keep:
        raise PreconditionError(
            f"Insufficient funds: the escrow is {format_amount(spec.escrow, token)} and"
            f" {keypair.ss58_address} has {format_amount(free, token)} free"
            f"{' with the refund' if refund else ''} (it must keep {format_amount(keep, token)}).",
            hint="Top the account up or lower the reward or the number of assignments.",
            module=PALLET, name="InsufficientBalance",
        )
    return expiration


def create_task(
    chain: ChainClient,
    keypair: Keypair,
    store: ArtifactStore,
    spec: TaskSpec,
    asset_dir: Path,
    *,
    base_model: Path | None = None,
    progress: TransferObserver | None = None,
) -> CreatedTask:
    """Upload the asset directory (and base model), then create the task on chain.

    Refuses early (before uploading) when the creator cannot cover the escrow.
    If the transaction fails after the upload, the error says where the upload is.
    """
    spec.check(chain.limits)  # the terms first, then the paths, then the chain's state (check_terms)
    if base_model is not None and spec.task_type is not TaskType.MODEL_CONTRIBUTOR:
        raise UsageError("--base-model applies to model-contributor tasks only.")
    for path in (asset_dir, base_model):
        if path is not None and not path.exists():
            raise UsageError(f"{path} does not exist.", hint="Pass the directory holding the task's assets.")
    if not asset_dir.is_dir():
        raise UsageError(f"{asset_dir} is not a directory.", hint="Pass the directory holding the task's assets.")
    expiration = check_terms(chain, keypair, spec)
    limits = chain.limits
    uploaded: list[Reference] = []
    bundle = store.put(asset_dir, progress=progress)
    uploaded.append(bundle)
    base_ref = None
    if base_model is not None:
        base_ref = store.put(base_model, progress=progress)
        uploaded.append(base_ref)
    try:
        for ref in uploaded:
            limits.check_uri(ref.uri)
    except UsageError as exc:
        raise _uploaded_hint(exc, uploaded) from None
    assets = TaskAssets(spec.task_type, bundle, base_ref)
    params = {
        "task_type": spec.task_type.value,
        "question": "0x" + spec.question.encode("utf-8").hex(),  # bytes, even if the text looks like hex
        "pays_amount": spec.pays_amount,
        "max_assignments": spec.max_assignments,
        "validation_strategy": spec.validation_strategy.value,
        "expiration_block": expiration,
        "assignment_deadline": spec.assignment_deadline,
        "assets": assets.to_chain(),
    }
    try:
        receipt = chain.submit(keypair, "create_task", params)
    except DecentralMLError as exc:
        raise _uploaded_hint(exc, uploaded) from exc
    event = receipt.find_event(PALLET, "TaskCreated")
    if event is None:
        raise _uploaded_hint(
            ChainError(f"Transaction {receipt.extrinsic_hash} succeeded but emitted no TaskCreated event."), uploaded
        )
    return CreatedTask(int(event["task_id"]), spec.escrow, expiration, bundle, base_ref, receipt)


def _decision(chain: ChainClient, submission_id: int) -> tuple[Submission, Task]:
    submission = chain.get_submission(submission_id)
    return submission, chain.get_task(submission.task_id)


def validate_result(chain: ChainClient, keypair: Keypair, submission_id: int, passed: bool, score: int) -> Outcome:
    """Record the creator's verdict (score in basis points, ``0..=MAX_SCORE``)."""
    if not 0 <= score <= MAX_SCORE:
        raise UsageError(f"The score is in basis points: 0..{MAX_SCORE} (got {score}).")
    submission, task = _decision(chain, submission_id)
    preconditions.check_validatable(submission, task, keypair.ss58_address)
    receipt = chain.submit(
        keypair, "validate_task_result", {"submission_id": submission_id, "passed": passed, "score": score}
    )
    return Outcome("validated", task.task_id, submission_id, receipt)


def accept_result(chain: ChainClient, keypair: Keypair, submission_id: int) -> Outcome:
    """Accept a result: the worker is paid the task's reward from escrow."""
    submission, task = _decision(chain, submission_id)
    preconditions.check_decidable(submission, task, keypair.ss58_address)
    receipt = chain.submit(keypair, "accept_task_result", {"submission_id": submission_id})
    event = receipt.find_event(PALLET, "TaskResultAccepted")
    reward = int(event["reward"]) if event and "reward" in event else task.pays_amount
    completed = receipt.find_event(PALLET, "TaskCompleted") is not None
    return Outcome("accepted", task.task_id, submission_id, receipt, reward=reward, task_completed=completed)


def reject_result(chain: ChainClient, keypair: Keypair, submission_id: int) -> Outcome:
    """Reject a result: the slot is freed, the escrow stays."""
    submission, task = _decision(chain, submission_id)
    preconditions.check_decidable(submission, task, keypair.ss58_address)
    receipt = chain.submit(keypair, "reject_task_result", {"submission_id": submission_id})
    return Outcome("rejected", task.task_id, submission_id, receipt)


def close_task(chain: ChainClient, keypair: Keypair, task_id: int) -> Outcome:
    """Close a task and refund the unspent escrow to its creator."""
    task = chain.get_task(task_id)
    preconditions.check_closable(task, chain.task_submissions(task_id), keypair.ss58_address, chain.block_number())
    receipt = chain.submit(keypair, "close_task", {"task_id": task_id})
    event = receipt.find_event(PALLET, "TaskClosed")
    refund = int(event["refund"]) if event and "refund" in event else None
    return Outcome("closed", task_id, None, receipt, refund=refund)

