"""One function per thing a creator or contributor does (no printing here).

Creator::

    create_task(chain, keypair, store, TaskSpec(...), asset_dir, base_model=None, progress=None) -> CreatedTask
    validate_result(chain, keypair, submission_id, passed, score) -> Outcome
    accept_result(chain, keypair, submission_id) -> Outcome
    reject_result(chain, keypair, submission_id) -> Outcome
    close_task(chain, keypair, task_id) -> Outcome

Contributor::

    assign_task(chain, keypair, task_id, open_store, work_dir, progress=None) -> AssignedTask
    send_result(chain, keypair, store, submission_id, result_dir, metrics=None, lineage=None, progress=None) -> SentResult
    fetch_result(chain, submission_id, open_store, dest, progress=None, max_bytes=None) -> (Submission, Path)

Submissions::

    pending_results(chain, task_id) -> list[Submission]
    result_metrics(submission) -> dict

Wallet::

    balance(chain, address) -> Balance
    transfer(chain, keypair, dest, amount, keep_alive=True) -> Transfer
"""

from decentralml.primitives.lazy import lazy_attributes

#: Where each public name lives: imported on first use, so that a command importing one use-case module
#: (``decentralml.usecases.wallet``) does not load the others (storage, lineage, task runner).
_HOME = {
    "AssignedTask": "decentralml.usecases.contributor",
    "SentResult": "decentralml.usecases.contributor",
    "StoreOpener": "decentralml.usecases.contributor",
    "assign_task": "decentralml.usecases.contributor",
    "encode_inline": "decentralml.usecases.contributor",
    "fetch_result": "decentralml.usecases.contributor",
    "read_metrics": "decentralml.usecases.contributor",
    "result_metrics": "decentralml.usecases.submissions",
    "send_result": "decentralml.usecases.contributor",
    "CreatedTask": "decentralml.usecases.creator",
    "Outcome": "decentralml.usecases.creator",
    "TaskSpec": "decentralml.usecases.creator",
    "accept_result": "decentralml.usecases.creator",
    "close_task": "decentralml.usecases.creator",
    "create_task": "decentralml.usecases.creator",
    "pending_results": "decentralml.usecases.submissions",
    "reject_result": "decentralml.usecases.creator",
    "validate_result": "decentralml.usecases.creator",
    "Transfer": "decentralml.usecases.wallet",
    "balance": "decentralml.usecases.wallet",
    "transfer": "decentralml.usecases.wallet",
}


__getattr__ = lazy_attributes(__name__, _HOME)


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
