"""Typed records decoded from substrate-interface values."""

import pytest

from decentralml.chain.signer import keypair_from_suri
from decentralml.chain.types import (
    Submission,
    SubmissionStatus,
    Task,
    TaskAssets,
    TaskStatus,
    TaskType,
    ValidationStrategy,
)
from decentralml.errors import ChainError
from decentralml.storage.reference import Reference, StorageType

ALICE = keypair_from_suri("//Alice").ss58_address
BOB = keypair_from_suri("//Bob").ss58_address
DIGEST = "0x" + "ab" * 32


def asset_value(uri: str = "file:///tmp/store/dirs/" + "ab" * 32 + "/") -> dict:
    return {"storage": "Local", "uri": uri, "digest": DIGEST}


def task_value(**over: object) -> dict:
    value = {
        "creator": ALICE,
        "task_type": "ModelContributor",
        "question": "Train MNIST",
        "pays_amount": 10**12,
        "max_assignments": 2,
        "validation_strategy": "ManualAccept",
        "expiration_block": 100,
        "assignment_deadline": 20,
        "assets": {"ModelContributor": {"contributor_bundle": asset_value(), "base_model": None}},
        "status": "Open",
        "created_at": 1,
        "assigned": 0,
        "accepted": 0,
        "paid": 0,
    }
    value.update(over)
    return value


def submission_value(**over: object) -> dict:
    value = {
        "task_id": 1,
        "worker": BOB,
        "status": "PendingValidation",
        "assigned_at": 3,
        "deadline": 23,
        "result": asset_value(),
        "inline_result": '{"metrics":{"accuracy":0.9}}',
        "lineage_digest": None,
        "submitted_at": 5,
        "validation": {"passed": True, "score": 9000},
        "paid": 0,
    }
    value.update(over)
    return value


def test_task_decodes() -> None:
    task = Task.from_chain(1, task_value())
    assert task.task_type is TaskType.MODEL_CONTRIBUTOR
    assert task.validation_strategy is ValidationStrategy.MANUAL_ACCEPT
    assert task.status is TaskStatus.OPEN
    assert task.assets.bundle.storage_type is StorageType.LOCAL
    assert task.assets.bundle.digest == bytes.fromhex("ab" * 32)
    assert task.escrow_total == 2 * 10**12 and task.free_slots == 2
    data = task.to_json()
    assert data["pays_amount"] == str(10**12) and data["assets"]["bundle"]["uri"].startswith("file://")


def test_submission_decodes() -> None:
    sub = Submission.from_chain(4, submission_value(lineage_digest=DIGEST))
    assert sub.status is SubmissionStatus.PENDING_VALIDATION
    assert sub.metrics_text == '{"metrics":{"accuracy":0.9}}'
    assert sub.lineage_digest == bytes.fromhex("ab" * 32)
    assert sub.validation is not None and sub.validation.score == 9000
    assert sub.to_json()["lineage_digest"] == DIGEST


def test_assigned_submission_without_result() -> None:
    sub = Submission.from_chain(4, submission_value(status="Assigned", result=None, inline_result=None,
                                                    submitted_at=None, validation=None))
    assert sub.result is None and sub.validation is None and sub.to_json()["result"] is None


def test_unknown_variant_or_missing_field_is_a_chain_error() -> None:
    with pytest.raises(ChainError, match="Unexpected TaskStatus 'Frozen'"):
        Task.from_chain(1, task_value(status="Frozen"))
    value = task_value()
    del value["question"]
    with pytest.raises(ChainError, match="question"):
        Task.from_chain(1, value)


@pytest.mark.parametrize("task_type", list(TaskType))
def test_assets_round_trip(task_type: TaskType) -> None:
    ref = Reference(StorageType.LOCAL, "file:///tmp/x/files/" + "cd" * 32, bytes.fromhex("cd" * 32))
    base = ref if task_type is TaskType.MODEL_CONTRIBUTOR else None
    assets = TaskAssets(task_type, ref, base)
    encoded = assets.to_chain()
    assert list(encoded) == [task_type.value]
    decoded = TaskAssets.from_chain(encoded)
    assert decoded.bundle.uri == ref.uri and decoded.bundle.digest == ref.digest
    assert (decoded.base_model is None) == (base is None)


def test_base_model_only_for_contributor_tasks() -> None:
    ref = Reference(StorageType.LOCAL, "file:///tmp/x/files/" + "cd" * 32, bytes.fromhex("cd" * 32))
    with pytest.raises(ValueError, match="only ModelContributor tasks carry a base model"):
        TaskAssets(TaskType.DATA_ANNOTATORS, ref, ref)


def test_inline_result_bytes_from_substrate_values() -> None:
    blob = bytes([0xFF, 0x00, 0x10])
    assert Submission.from_chain(1, submission_value(inline_result="0x" + blob.hex())).inline_result == blob
    assert Submission.from_chain(1, submission_value(inline_result="0x41")).inline_result == b"0x41"
    assert Submission.from_chain(1, submission_value(inline_result=[123, 125])).inline_result == b"{}"
