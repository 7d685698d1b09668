"""Typed records of the DecentralMLModule pallet, decoded from chain storage.

``AssetRef`` is the storage layer's :class:`~decentralml.storage.reference.Reference`.
The decoders take the plain values substrate-interface produces from the
metadata (dicts, strings for unit enums, ``{"Variant": {...}}`` for enums with
data, ``0x`` hex for fixed byte arrays, text for UTF-8 byte vectors) and build
frozen dataclasses; the encoders do the reverse for call arguments.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Mapping

from decentralml.errors import ChainError
from decentralml.storage.reference import Reference, StorageType  # noqa: F401 - re-exported by decentralml.chain

DIGEST_LEN = 32


class TaskType(str, enum.Enum):
    DATA_ANNOTATORS = "DataAnnotators"
    MODEL_CONTRIBUTOR = "ModelContributor"
    MODEL_ENGINEER = "ModelEngineer"


class ValidationStrategy(str, enum.Enum):
    AUTO_ACCEPT = "AutoAccept"
    MANUAL_ACCEPT = "ManualAccept"
    CUSTOM_ACCEPT = "CustomAccept"


class TaskStatus(str, enum.Enum):
    OPEN = "Open"
    COMPLETED = "Completed"
    CLOSED = "Closed"


class SubmissionStatus(str, enum.Enum):
    ASSIGNED = "Assigned"
    PENDING_VALIDATION = "PendingValidation"
    VALIDATED = "Validated"
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    EXPIRED = "Expired"


#: Submissions whose result waits for the creator's decision (validate, accept or reject).
AWAITING_DECISION = frozenset({SubmissionStatus.PENDING_VALIDATION, SubmissionStatus.VALIDATED})
#: Submissions that hold a sent result not (yet) rejected.
WITH_RESULT = AWAITING_DECISION | {SubmissionStatus.ACCEPTED}
#: Submissions whose slot was freed without a result that counts.
RELEASED = frozenset({SubmissionStatus.REJECTED, SubmissionStatus.EXPIRED})


def _enum_from_chain(enum_type: type[enum.Enum], value: Any) -> Any:
    """Unit enum variants decode as their name (or ``{"Name": None}``)."""
    if isinstance(value, str):
        found = enum_type._value2member_map_.get(value)
        if found is not None:
            return found
    if isinstance(value, Mapping) and len(value) == 1:
        value = next(iter(value))
    try:
        return enum_type(value)
    except ValueError:
        raise ChainError(f"Unexpected {enum_type.__name__} {value!r} from the chain: is the client up to date?") from None


def _digest(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    elif isinstance(value, str) and value.startswith("0x"):
        data = bytes.fromhex(value[2:])
    elif isinstance(value, (list, tuple)):
        data = bytes(value)
    else:
        raise ChainError(f"Unexpected digest {value!r} from the chain.")
    if len(data) != DIGEST_LEN:
        raise ChainError(f"Unexpected digest length {len(data)} from the chain.")
    return data


def _text(value: Any) -> str:
    """A UTF-8 byte vector: text when it decodes, else substrate-interface gives hex."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, (list, tuple)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _raw_bytes(value: Any) -> bytes:
    """A byte vector: substrate-interface gives text if it is UTF-8, else ``0x`` hex."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return bytes(value)
    text = str(value)
    if text.startswith("0x"):
        try:
            raw = bytes.fromhex(text[2:])
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
        except ValueError:
            pass
    return text.encode("utf-8")


#: The chain's ``AssetRef`` is the storage layer's :class:`Reference`
#: (``storage_type``, ``uri``, ``digest``; ``size`` is None when read from chain).
AssetRef = Reference


@dataclass(frozen=True)
class TaskAssets:
    """The assets of a task; which fields apply depends on the task type."""

    task_type: TaskType
    bundle: AssetRef
    base_model: AssetRef | None = None

    def __post_init__(self) -> None:
        if self.base_model is not None and self.task_type is not TaskType.MODEL_CONTRIBUTOR:
            raise ValueError("only ModelContributor tasks carry a base model")

    def to_chain(self) -> dict[str, Any]:
        if self.task_type is TaskType.DATA_ANNOTATORS:
            return {"DataAnnotators": {"annotation_files": self.bundle.to_chain()}}
        if self.task_type is TaskType.MODEL_ENGINEER:
            return {"ModelEngineer": {"engineer_bundle": self.bundle.to_chain()}}
        return {
            "ModelContributor": {
                "contributor_bundle": self.bundle.to_chain(),
                "base_model": self.base_model.to_chain() if self.base_model else None,
            }
        }

    @classmethod
    def from_chain(cls, value: Mapping[str, Any]) -> "TaskAssets":
        if not isinstance(value, Mapping) or len(value) != 1:
            raise ChainError(f"Unexpected task assets {value!r} from the chain.")
        variant, fields = next(iter(value.items()))
        task_type = _enum_from_chain(TaskType, variant)
        if task_type is TaskType.DATA_ANNOTATORS:
            return cls(task_type, AssetRef.from_chain(fields["annotation_files"]))
        if task_type is TaskType.MODEL_ENGINEER:
            return cls(task_type, AssetRef.from_chain(fields["engineer_bundle"]))
        base = fields.get("base_model")
        return cls(
            task_type,
            AssetRef.from_chain(fields["contributor_bundle"]),
            AssetRef.from_chain(base) if base else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle.to_json(),
            "base_model": self.base_model.to_json() if self.base_model else None,
        }


@dataclass(frozen=True)
class Task:
    """One task record (``DecentralMLModule::Tasks``)."""

    task_id: int
    creator: str
    task_type: TaskType
    question: str
    pays_amount: int
    max_assignments: int
    validation_strategy: ValidationStrategy
    expiration_block: int
    assignment_deadline: int
    assets: TaskAssets
    status: TaskStatus
    created_at: int
    assigned: int
    accepted: int
    paid: int

    @property
    def escrow_total(self) -> int:
        """What the creator escrowed at creation."""
        return self.pays_amount * self.max_assignments

    @property
    def free_slots(self) -> int:
        return max(0, self.max_assignments - self.assigned - self.accepted)

    @classmethod
    def from_chain(cls, task_id: int, value: Mapping[str, Any]) -> "Task":
        try:
            return cls(
                task_id=int(task_id),
                creator=str(value["creator"]),
                task_type=_enum_from_chain(TaskType, value["task_type"]),
                question=_text(value["question"]),
                pays_amount=int(value["pays_amount"]),
                max_assignments=int(value["max_assignments"]),
                validation_strategy=_enum_from_chain(ValidationStrategy, value["validation_strategy"]),
                expiration_block=int(value["expiration_block"]),
                assignment_deadline=int(value["assignment_deadline"]),
                assets=TaskAssets.from_chain(value["assets"]),
                status=_enum_from_chain(TaskStatus, value["status"]),
                created_at=int(value["created_at"]),
                assigned=int(value["assigned"]),
                accepted=int(value["accepted"]),
                paid=int(value.get("paid", value.get("paid_total", 0))),
            )
        except KeyError as exc:
            raise ChainError(f"The chain's task record lacks the field {exc}: is the client up to date?") from None

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "creator": self.creator,
            "task_type": self.task_type.value,
            "question": self.question,
            "pays_amount": str(self.pays_amount),
            "max_assignments": self.max_assignments,
            "validation_strategy": self.validation_strategy.value,
            "expiration_block": self.expiration_block,
            "assignment_deadline": self.assignment_deadline,
            "assets": self.assets.to_json(),
            "status": self.status.value,
            "created_at": self.created_at,
            "assigned": self.assigned,
            "accepted": self.accepted,
            "paid": str(self.paid),
            "free_slots": self.free_slots,
        }


@dataclass(frozen=True)
class Validation:
    """The creator's verdict on a submission (score in basis points)."""

    passed: bool
    score: int


@dataclass(frozen=True)
class Submission:
    """One submission record (``DecentralMLModule::Submissions``)."""

    submission_id: int
    task_id: int
    worker: str
    status: SubmissionStatus
    assigned_at: int
    deadline: int
    result: AssetRef | None
    inline_result: bytes | None
    lineage_digest: bytes | None
    submitted_at: int | None
    validation: Validation | None
    paid: int

    @property
    def metrics_text(self) -> str | None:
        """The inline result as text (the metrics JSON by convention)."""
        return self.inline_result.decode("utf-8", errors="replace") if self.inline_result is not None else None

    @classmethod
    def from_chain(cls, submission_id: int, value: Mapping[str, Any]) -> "Submission":
        try:
            result = value.get("result")
            inline = value.get("inline_result")
            lineage = value.get("lineage_digest")
            submitted = value.get("submitted_at")
            validation = value.get("validation")
            return cls(
                submission_id=int(submission_id),
                task_id=int(value["task_id"]),
                worker=str(value["worker"]),
                status=_enum_from_chain(SubmissionStatus, value["status"]),
                assigned_at=int(value["assigned_at"]),
                deadline=int(value["deadline"]),
                result=AssetRef.from_chain(result) if result else None,
                inline_result=_raw_bytes(inline) if inline is not None else None,
                lineage_digest=_digest(lineage) if lineage else None,
                submitted_at=int(submitted) if submitted is not None else None,
                validation=Validation(bool(validation["passed"]), int(validation["score"])) if validation else None,
                paid=int(value.get("paid", 0)),
            )
        except KeyError as exc:
            raise ChainError(f"The chain's submission record lacks the field {exc}: is the client up to date?") from None

    def to_json(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission_id,
            "task_id": self.task_id,
            "worker": self.worker,
            "status": self.status.value,
            "assigned_at": self.assigned_at,
            "deadline": self.deadline,
            "result": self.result.to_json() if self.result else None,
            "inline_result": self.metrics_text,
            "lineage_digest": "0x" + self.lineage_digest.hex() if self.lineage_digest else None,
            "submitted_at": self.submitted_at,
            "validation": {"passed": self.validation.passed, "score": self.validation.score} if self.validation else None,
            "paid": str(self.paid),
        }


@dataclass(frozen=True)
class Balance:
    """An account's balances in planck."""

    address: str
    free: int
    reserved: int
    frozen: int

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "free": str(self.free), "reserved": str(self.reserved), "frozen": str(self.frozen)}


@dataclass(frozen=True)
class Receipt:
    """What a successful transaction left behind."""

    extrinsic_hash: str
    block_hash: str
    block_number: int | None
    events: tuple[tuple[str, str, Mapping[str, Any]], ...]
    fee: int | None

    def find_event(self, module: str, name: str) -> Mapping[str, Any] | None:
        """The attributes of the first event ``module.name``, or None."""
        for event_module, event_name, attributes in self.events:
            if event_module == module and event_name == name:
                return attributes
        return None

    def event_names(self) -> list[str]:
        return [f"{m}.{n}" for m, n, _ in self.events]
