"""list-tasks paging, limits and sorting, and batched multi-record reads, against the dev node and chopsticks
(one chain of each kind for the module, holding the same seven tasks)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from decentralml.chain import ChainClient, TaskFilter, TaskOrder
from decentralml.chain.types import TaskStatus
from decentralml.cli.app import app
from tests.devnode.sichain import UNIT, best_number, connect, create_task_params, keypair, submit
from tests.fixtures.chains import CHAINS, Chain, running_chain

pytestmark = pytest.mark.integration

TASKS = 7
CLOSED = (1, 4)


@pytest.fixture(scope="module", params=CHAINS)
def listing_chain(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with running_chain(request.param, tmp_path_factory.mktemp(f"listing-{request.param}")) as chain:
        _post_tasks(chain.url)
        yield chain


def _post_tasks(url: str) -> None:
    substrate = connect(url)
    alice, bob = keypair("Alice"), keypair("Bob")
    expiry = best_number(substrate) + 10_000
    for index in range(TASKS):
        signer = bob if index == 5 else alice
        pays = (index + 1) * UNIT // 10
        params = create_task_params(pays=pays, slots=3, expiration_block=expiry - index, question=f"task {index}")
        assert submit(substrate, signer, "DecentralMLModule", "create_task", params).is_success
    for task_id in CLOSED:
        assert submit(substrate, alice, "DecentralMLModule", "close_task", {"task_id": task_id}).is_success
    for name in ("Charlie", "Dave"):
        assert submit(substrate, keypair(name), "DecentralMLModule", "assign_task", {"task_id": 0}).is_success
    substrate.close()


def ids(listing: Any) -> list[int]:
    return [t.task_id for t in listing.tasks]


def test_open_tasks_newest_first_with_limit_and_offset(listing_chain: Chain) -> None:
    with ChainClient.connect(listing_chain.url) as client:
        everything = client.iter_tasks(TaskFilter(open_only=True))
        assert everything.candidates == TASKS - len(CLOSED)
        assert ids(everything) == [6, 5, 3, 2, 0]
        assert ids(client.iter_tasks(TaskFilter(open_only=True), limit=2)) == [6, 5]
        assert ids(client.iter_tasks(TaskFilter(open_only=True), limit=2, offset=2)) == [3, 2]
        assert ids(client.iter_tasks(TaskFilter(open_only=True), limit=10, offset=4)) == [0]
        assert ids(client.iter_tasks(TaskFilter(open_only=True), limit=2, offset=5)) == []
        assert ids(client.iter_tasks(TaskFilter(open_only=True), limit=0)) == []
        assert ids(client.iter_tasks(TaskFilter(open_only=True), order=TaskOrder.OLDEST, limit=3)) == [0, 2, 3]
        assert ids(client.iter_tasks(TaskFilter(open_only=True), order=TaskOrder.REWARD, limit=2)) == [6, 5]
        assert ids(client.iter_tasks(TaskFilter(open_only=True), order=TaskOrder.EXPIRES, limit=2)) == [6, 5]


def test_single_reads_decode_or_raise_not_found(listing_chain: Chain) -> None:
    from decentralml.errors import NotFoundError

    with ChainClient.connect(listing_chain.url) as client:
        task = client.get_task(5)
        assert task.question == "task 5" and task.creator == keypair("Bob").ss58_address
        assert task.pays_amount == 6 * UNIT // 10 and task.status is TaskStatus.OPEN
        with pytest.raises(NotFoundError, match="no task 99"):
            client.get_task(99)
        with pytest.raises(NotFoundError, match="no submission 99"):
            client.get_submission(99)
        assert client.get_submission(0).task_id == 0
        assert client.balance(keypair("Ferdie").ss58_address).free > 0


def test_all_mine_and_status_page_the_history(listing_chain: Chain) -> None:
    alice = keypair("Alice").ss58_address
    with ChainClient.connect(listing_chain.url) as client:
        assert ids(client.iter_tasks(TaskFilter(), limit=3)) == [6, 5, 4]  # ids hashed on demand
        assert ids(client.iter_tasks(TaskFilter(), limit=3, offset=5)) == [1, 0]
        assert ids(client.iter_tasks(TaskFilter())) == list(range(TASKS))[::-1]  # keys paged from the node
        assert ids(client.iter_tasks(TaskFilter(creator=alice), limit=2)) == [6, 4]
        assert ids(client.iter_tasks(TaskFilter(status=TaskStatus.CLOSED))) == [4, 1]
        assert [t.task_id for t in client.list_tasks(TaskFilter(open_only=True))] == [0, 2, 3, 5, 6]


def test_list_results_reads_in_a_few_batched_requests(listing_chain: Chain) -> None:
    with ChainClient.connect(listing_chain.url) as client:
        client.get_task(0)  # the runtime (metadata) is known before counting
        calls: list[str] = []
        real = client._substrate.rpc_request

        def counting(method: str, params: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(method)
            return real(method, params, *args, **kwargs)

        client._substrate.rpc_request = counting
        submissions = client.task_submissions(0)
        assert [s.task_id for s in submissions] == [0, 0]
        assert sorted(s.worker for s in submissions) == sorted(keypair(n).ss58_address for n in ("Charlie", "Dave"))
        assert "chain_getHead" not in calls and "state_getStorage" not in calls
        assert calls.count("state_queryStorageAt") == 2 and calls.count("state_getKeysPaged") == 1


def _cli(url: str, *args: str) -> Any:
    return CliRunner().invoke(app, ["--url", url, *args], catch_exceptions=False)


def test_cli_list_tasks_pages_and_streams_json(listing_chain: Chain, isolated_env: Path) -> None:
    result = _cli(listing_chain.url, "--json", "list-tasks", "--limit", "2", "--offset", "1")
    assert result.exit_code == 0, result.stderr
    assert [row["task_id"] for row in json.loads(result.stdout)] == [5, 3]
    result = _cli(listing_chain.url, "--json", "list-tasks", "--all")
    assert [row["task_id"] for row in json.loads(result.stdout)] == list(range(TASKS))[::-1]
    result = _cli(listing_chain.url, "--json", "list-tasks", "--all", "--limit", "0", "--sort", "oldest")
    assert [row["task_id"] for row in json.loads(result.stdout)] == list(range(TASKS))
    result = _cli(listing_chain.url, "list-tasks", "--limit", "2")
    assert result.exit_code == 0 and "more with --offset 2" in result.stderr
    result = _cli(listing_chain.url, "list-tasks", "--limit", "-1")
    assert result.exit_code == 2


def test_keys_and_values_cross_page_boundaries(listing_chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    from decentralml.chain import client as client_module

    for page in (1, 2, 3, TASKS, TASKS + 1):
        monkeypatch.setattr(client_module, "MAX_PAGE", page)
        with ChainClient.connect(listing_chain.url) as client:
            assert ids(client.iter_tasks(TaskFilter())) == list(range(TASKS))[::-1]
            assert ids(client.iter_tasks(TaskFilter(open_only=True))) == [6, 5, 3, 2, 0]
            assert ids(client.iter_tasks(TaskFilter(), limit=2, offset=3)) == [3, 2]


@pytest.mark.parametrize("corrupt", [lambda v: v[:-2], lambda v: v + "00", lambda v: "0x" + "ff" * 40])
def test_a_value_that_does_not_decode_is_a_chain_error(listing_chain: Chain, corrupt: Any, isolated_env: Path) -> None:
    from decentralml.errors import ChainError

    with ChainClient.connect(listing_chain.url) as client:
        real = client._substrate.rpc_request

        def corrupting(method: str, params: Any, *args: Any, **kwargs: Any) -> Any:
            response = real(method, params, *args, **kwargs)
            if method == "state_queryStorageAt":
                for group in response["result"]:
                    group["changes"] = [[key, corrupt(value)] for key, value in group["changes"]]
            return response

        client._substrate.rpc_request = corrupting
        with pytest.raises(ChainError, match="does not decode"):
            list(client.iter_tasks(TaskFilter()).tasks)
