"""The chain adapter: one client over substrate-interface, typed records, keys.

Public API::

    ChainClient.connect(url, timeout=60.0) -> ChainClient
        .token -> TokenInfo              .block_number() -> int
        .get_task(id) -> Task            .list_tasks(TaskFilter(...)) -> list[Task]
        .iter_tasks(TaskFilter(...), limit=, offset=, order=TaskOrder.NEWEST) -> TaskListing (lazy rows)
        .get_submission(id) -> Submission
        .task_submissions(task_id)       .worker_submissions(address)
        .balance(address) -> Balance     .constant(module, name)
        .limits -> PalletLimits          (the pallet's constants, from the node's metadata)
        .submit(keypair, function, params, module=PALLET) -> Receipt
    keypair_from_suri(suri, crypto) / validate_address(address)
"""

from decentralml.chain.client import ChainClient, TaskFilter, TaskListing, TaskOrder, filter_tasks
from decentralml.chain.pallet import MAX_SCORE, PALLET, PalletLimits
from decentralml.chain.signer import keypair_from_suri, validate_address
from decentralml.chain.types import (
    AssetRef,
    Balance,
    Receipt,
    StorageType,
    Submission,
    SubmissionStatus,
    Task,
    TaskAssets,
    TaskStatus,
    TaskType,
    Validation,
    ValidationStrategy,
)

__all__ = [
    "MAX_SCORE",
    "PALLET",
    "AssetRef",
    "Balance",
    "ChainClient",
    "PalletLimits",
    "Receipt",
    "StorageType",
    "Submission",
    "SubmissionStatus",
    "Task",
    "TaskAssets",
    "TaskFilter",
    "TaskListing",
    "TaskOrder",
    "TaskStatus",
    "TaskType",
    "Validation",
    "ValidationStrategy",
    "filter_tasks",
    "keypair_from_suri",
    "validate_address",
]
