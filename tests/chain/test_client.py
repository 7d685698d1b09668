"""The chain client: one submit path, receipts checked, nonces, error mapping."""

import pytest
from websocket import WebSocketConnectionClosedException

from decentralml.chain.client import ChainClient, TaskFilter, filter_tasks
from decentralml.chain.signer import keypair_from_suri
from decentralml.chain.types import TaskStatus
from decentralml.errors import (
    ChainError,
    DispatchError,
    NodeUnreachableError,
    NotFoundError,
    TransactionError,
    UsageError,
)
from tests.chain.fakes import SUCCESS, FakeSubstrate, ScriptedClient, failed
from tests.chain.test_types import task_value

ALICE = keypair_from_suri("//Alice")


def test_successive_submissions_get_consecutive_nonces_even_if_the_node_lags() -> None:
    substrate = FakeSubstrate(chain_nonce=5)
    client = ScriptedClient(substrate)
    for _ in range(3):
        client.submit(ALICE, "create_task", {})
    assert substrate.signed_nonces == [5, 6, 7]


def test_node_nonce_wins_when_it_is_ahead() -> None:
    substrate = FakeSubstrate(chain_nonce=5)
    client = ScriptedClient(substrate)
    client.submit(ALICE, "create_task", {})
    substrate.chain_nonce = 10  # another wallet used the account meanwhile
    client.submit(ALICE, "create_task", {})
    assert substrate.signed_nonces == [5, 10]


def test_pool_rejection_does_not_consume_the_nonce() -> None:
    substrate = FakeSubstrate(chain_nonce=2, outcomes=["fees", "ok"])
    client = ScriptedClient(substrate)
    with pytest.raises(TransactionError, match="Insufficient funds"):
        client.submit(ALICE, "create_task", {})
    client.submit(ALICE, "create_task", {})
    assert substrate.signed_nonces == [2, 2]


def test_lost_connection_after_submission_is_reported_not_resent() -> None:
    substrate = FakeSubstrate(outcomes=["lost", "ok"])
    client = ScriptedClient(substrate)
    with pytest.raises(NodeUnreachableError, match="may have been included") as info:
        client.submit(ALICE, "create_task", {})
    assert "0x" in info.value.message
    assert len(substrate.submitted) == 1
    client.submit(ALICE, "create_task", {})
    assert substrate.signed_nonces == [0, 1]  # the lost one keeps its nonce


def test_timeout_and_drop_are_transaction_errors() -> None:
    client = ScriptedClient(FakeSubstrate(outcomes=["timeout", "dropped"]))
    with pytest.raises(TransactionError, match="not included within"):
        client.submit(ALICE, "create_task", {})
    with pytest.raises(TransactionError, match="dropped"):
        client.submit(ALICE, "create_task", {})


def test_banned_resubmission_is_explained() -> None:
    client = ScriptedClient(FakeSubstrate(outcomes=["ban"]))
    with pytest.raises(TransactionError, match="banned"):
        client.submit(ALICE, "create_task", {})


def test_success_receipt() -> None:
    receipt = ScriptedClient(FakeSubstrate()).submit(ALICE, "create_task", {})
    assert receipt.fee == 125 and receipt.block_number == 7 and receipt.block_hash == "0xblock"
    assert receipt.find_event("DecentralMLModule", "TaskCreated") == {"task_id": 3}
    assert "System.ExtrinsicSuccess" in receipt.event_names()


@pytest.mark.parametrize("module_error", [{"index": 5, "error": "0x00000000"}, (5, 0), {"index": 5, "error": 0}])
def test_failed_dispatch_becomes_the_pallet_error_with_its_docs(module_error: object) -> None:
    client = ScriptedClient(FakeSubstrate(), events=[failed({"Module": module_error})])
    with pytest.raises(NotFoundError, match="The task does not exist") as info:
        client.submit(ALICE, "assign_task", {"task_id": 9})
    assert info.value.message == "The task does not exist: check the id."
    assert info.value.exit_code == 8 and info.value.name == "TaskNotFound"


def test_other_dispatch_failures() -> None:
    client = ScriptedClient(
        FakeSubstrate(), events=[failed({"Module": {"index": 5, "error": 3}}), failed({"Token": "FundsUnavailable"})]
    )
    with pytest.raises(DispatchError, match="no free slot") as info:
        client.submit(ALICE, "assign_task", {})
    assert info.value.exit_code == 7
    with pytest.raises(DispatchError, match="Insufficient funds"):
        client.submit(ALICE, "create_task", {})


def test_receipt_without_outcome_is_an_error() -> None:
    client = ScriptedClient(FakeSubstrate(), events=[[SUCCESS[0]]])
    with pytest.raises(ChainError, match="neither success nor failure"):
        client.submit(ALICE, "create_task", {})


def test_unencodable_call() -> None:
    with pytest.raises(ChainError, match="Cannot encode"):
        ScriptedClient(FakeSubstrate()).submit(ALICE, "bad", {})


def test_connect_failures() -> None:
    def refuse(url: str, timeout: float) -> None:
        raise ConnectionRefusedError(111, "refused")

    with pytest.raises(NodeUnreachableError, match="No DecentralML node answers at ws://127.0.0.1:1"):
        ChainClient.connect("ws://127.0.0.1:1", factory=refuse)
    with pytest.raises(UsageError, match="must start with ws:// or wss://"):
        ChainClient.connect("http://127.0.0.1:9944")


def test_queries_translate_connection_loss() -> None:
    substrate = FakeSubstrate(query_error=WebSocketConnectionClosedException("gone"))
    substrate.connect_websocket = lambda: None  # type: ignore[attr-defined]
    with pytest.raises(NodeUnreachableError, match="No DecentralML node answers"):
        ScriptedClient(substrate).get_task(1)


def test_reconnect_failure_is_unreachable() -> None:
    substrate = FakeSubstrate(query_error=WebSocketConnectionClosedException("gone"))

    def refuse() -> None:
        raise ConnectionRefusedError(111, "refused")

    substrate.connect_websocket = refuse  # type: ignore[attr-defined]
    with pytest.raises(NodeUnreachableError, match="No DecentralML node answers"):
        ScriptedClient(substrate).get_task(1)


def test_token_from_properties() -> None:
    substrate = FakeSubstrate()
    substrate.properties = {"tokenDecimals": [10], "tokenSymbol": ["DOT"]}
    token = ScriptedClient(substrate).token
    assert (token.decimals, token.symbol) == (10, "DOT")


def test_filter_tasks() -> None:
    from decentralml.chain.types import Task

    open_task = Task.from_chain(1, task_value())
    expired = Task.from_chain(2, task_value(expiration_block=5))
    closed = Task.from_chain(3, task_value(status="Closed"))
    full = Task.from_chain(4, task_value(assigned=2))
    tasks = [full, closed, expired, open_task]
    assert [t.task_id for t in filter_tasks(tasks, TaskFilter(open_only=True), 10)] == [1]
    assert [t.task_id for t in filter_tasks(tasks, TaskFilter(), 10)] == [1, 2, 3, 4]
    assert [t.task_id for t in filter_tasks(tasks, TaskFilter(status=TaskStatus.CLOSED), 10)] == [3]
    assert filter_tasks(tasks, TaskFilter(creator="5Other"), 10) == []


def test_dropped_transaction_frees_its_nonce() -> None:
    substrate = FakeSubstrate(chain_nonce=4, outcomes=["dropped", "ok"])
    client = ScriptedClient(substrate)
    with pytest.raises(TransactionError, match="dropped"):
        client.submit(ALICE, "create_task", {})
    client.submit(ALICE, "create_task", {})
    assert substrate.signed_nonces == [4, 4]


def test_timed_out_transaction_keeps_its_nonce() -> None:
    substrate = FakeSubstrate(chain_nonce=4, outcomes=["timeout", "ok"])
    client = ScriptedClient(substrate)
    with pytest.raises(TransactionError, match="not included within"):
        client.submit(ALICE, "create_task", {})
    client.submit(ALICE, "create_task", {})
    assert substrate.signed_nonces == [4, 5]


def test_a_node_without_the_pallet_is_a_chain_error() -> None:
    from decentralml.chain.runtime_types import RuntimeTypes

    client = ScriptedClient(FakeSubstrate())
    client._types = RuntimeTypes([], {}, {})  # a runtime whose metadata has no DecentralMLModule
    with pytest.raises(ChainError, match="has no storage item DecentralMLModule.Tasks") as info:
        client.get_task(1)
    assert info.value.exit_code == 4 and info.value.one_line().endswith("Is --url a DecentralML node?")
