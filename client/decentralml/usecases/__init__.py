"""One function per thing a creator or contributor does (no printing here).

Creator::

    create_task(chain, keypair, store, TaskSpec(...), asset_dir, base_model=None, progress=None) -> CreatedTask
    validate_result(chain, keypair, submission_id, passed, score) -> Outcome
    accept_result(chain, keypair, submission_id) -> Outcome
    reject_result(chain, keypair, submission_id) -> Outcome
    close_task(chain, keypair, task_id) -> Outcome
    pending_results(chain, task_id) -> list[Submission]

Contributor::

    assign_task(chain, keypair, task_id, open_store, work_dir, progress=None) -> AssignedTask
    send_result(chain, keypair, store, submission_id, result_dir, metrics=None, lineage=None, progress=None) -> SentResult
    fetch_result(chain, submission_id, open_store, dest, progress=None, max_bytes=None) -> (Submission, Path)
    result_metrics(submission) -> dict

Wallet::

    balance(chain, address) -> Balance
    transfer(chain, keypair, dest, amount, keep_alive=True) -> Transfer
"""

from decentralml.usecases.contributor import (
    AssignedTask,
    SentResult,
    StoreOpener,
    assign_task,
    encode_inline,
    fetch_result,
    read_metrics,
    result_metrics,
    send_result,
)
from decentralml.usecases.creator import (
    CreatedTask,
    Outcome,
    TaskSpec,
    accept_result,
    close_task,
    create_task,
    pending_results,
    reject_result,
    validate_result,
)
from decentralml.usecases.wallet import Transfer, balance, transfer

__all__ = [
    "AssignedTask",
    "CreatedTask",
    "Outcome",
    "SentResult",
    "StoreOpener",
    "TaskSpec",
    "Transfer",
    "accept_result",
    "assign_task",
    "balance",
    "close_task",
    "create_task",
    "encode_inline",
    "fetch_result",
    "pending_results",
    "read_metrics",
    "reject_result",
    "result_metrics",
    "send_result",
    "transfer",
    "validate_result",
]
