"""The CLI and the chain client against a fresh chain: the dev node and chopsticks (``chain``).

The storage round trips (S3, IPFS) test the storage back ends, not the chain: they run on the dev node.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from decentralml.chain import ChainClient, keypair_from_suri
from decentralml.cli.app import app
from decentralml.errors import DispatchError, NotFoundError, PermissionDeniedError, TransactionError

pytestmark = pytest.mark.integration

ALICE, BOB, CHARLIE = (keypair_from_suri(s) for s in ("//Alice", "//Bob", "//Charlie"))
UNIT = 10**12


class Node:
    def __init__(self, url: str, tmp: Path) -> None:
        self.url, self.tmp, self.runner = url, tmp, CliRunner()

    def run(self, *args: Any) -> Any:
        return self.runner.invoke(app, ["--url", self.url, *map(str, args)], catch_exceptions=False)

    def json(self, *args: Any) -> Any:
        result = self.run("--json", *args)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    def free(self, address: str) -> int:
        return int(self.json("balance", address)["free"]["planck"])


@pytest.fixture
def node(chain: Any, isolated_env: Path) -> Node:
    """The CLI against a fresh chain, once per kind (the tests use the dev accounts)."""
    return Node(chain.url, isolated_env)


@pytest.fixture
def devnode_cli(devnode: Any, isolated_env: Path) -> Node:
    """The CLI against a fresh dev node."""
    return Node(devnode.url, isolated_env)


def _fee(data: dict) -> int:
    return int(data["transaction"]["fee"] or 0)


def test_creator_and_contributor_flow(node: Node, assets: Path, result_dir: Path) -> None:
    bob_before = node.free(BOB.ss58_address)
    alice_before = node.free(ALICE.ss58_address)
    created = node.json("--suri", "//Alice", "create-task", assets, "--question", "Train MNIST",
                        "--reward", "2 UNIT", "--max-assignments", "2", "--expires-in", "500",
                        "--assignment-deadline", "100")
    task_id = created["task_id"]
    assert created["escrow"]["planck"] == str(4 * UNIT)
    assert [t["task_id"] for t in node.json("list-tasks")] == [task_id]
    shown = node.json("show-task", task_id)
    assert shown["assets"]["bundle"]["digest"] == created["assets"]["bundle"]["digest"]
    assert shown["status"] == "Open" and shown["creator"] == ALICE.ss58_address

    assigned = node.json("--suri", "//Bob", "assign-task", task_id, "--work-dir", node.tmp / "work")
    sid = assigned["submission_id"]
    assert (Path(assigned["directory"]) / "start_task.sh").is_file()
    sent = node.json("--suri", "//Bob", "send-result", sid, result_dir)
    listed = node.json("list-results", task_id)
    assert [(s["submission_id"], s["status"]) for s in listed] == [(sid, "PendingValidation")]
    assert listed[0]["metrics"] == {"accuracy": 0.91, "loss": 0.3}
    assert listed[0]["result"]["digest"] == sent["result"]["digest"]

    not_creator = node.run("--suri", "//Bob", "accept-result", sid)
    assert not_creator.exit_code == 9
    validated = node.json("--suri", "//Alice", "validate-result", sid, "--score", "9000")
    accepted = node.json("--suri", "//Alice", "accept-result", sid)
    assert accepted["reward"]["planck"] == str(2 * UNIT)
    assert node.free(BOB.ss58_address) == bob_before - _fee(assigned) - _fee(sent) + 2 * UNIT

    second = node.json("--suri", "//Charlie", "assign-task", task_id, "--work-dir", node.tmp / "work")
    node.json("--suri", "//Charlie", "send-result", second["submission_id"], result_dir)
    before_failure = node.free(ALICE.ss58_address)
    pending = node.run("--suri", "//Alice", "close-task", task_id)
    assert pending.exit_code == 7 and "accept or reject them" in pending.stderr.lower()
    assert node.free(ALICE.ss58_address) == before_failure  # seen before sending: no transaction, no fee
    rejected = node.json("--suri", "//Alice", "reject-result", second["submission_id"])
    closed = node.json("--suri", "//Alice", "close-task", task_id)
    assert closed["refund"]["planck"] == str(2 * UNIT)
    fees = sum(_fee(d) for d in (created, validated, accepted, rejected, closed))
    assert node.free(ALICE.ss58_address) == alice_before - 2 * UNIT - fees
    assert node.json("show-task", task_id)["status"] == "Closed"


def test_cli_errors_against_the_node(node: Node, assets: Path) -> None:
    assert node.run("show-task", 999).exit_code == 8
    assert node.run("show-result", 999).exit_code == 8
    task_id = node.json("--suri", "//Alice", "create-task", assets, "--question", "q", "--reward", "1 UNIT")["task_id"]
    assert node.run("--suri", "//Alice", "assign-task", task_id).exit_code == 9
    node.json("--suri", "//Bob", "assign-task", task_id, "--work-dir", node.tmp / "w")
    full = node.run("--suri", "//Charlie", "assign-task", task_id, "--work-dir", node.tmp / "w")
    assert full.exit_code == 7 and "no free slot" in full.stderr.lower()
    poor = node.run("--suri", "//Ferdie//fresh", "transfer", BOB.ss58_address, "1 UNIT")
    assert poor.exit_code == 7 and "Insufficient funds" in poor.stderr  # checked before sending


def test_ecdsa_and_ed25519_signers_transact_like_subkey_keys(node: Node) -> None:
    """//Alice as ecdsa and ed25519 (subkey's addresses): funded by sr25519 Alice, each sends 1 UNIT on."""
    for crypto, address in (("ecdsa", "5C7C2Z5sWbytvHpuLTvzKunnnRwQxft1jiqrLD5rhucQ5S9X"),
                            ("ed25519", "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu")):
        node.json("--suri", "//Alice", "transfer", address, "5 UNIT")
        before = node.free(CHARLIE.ss58_address)
        sent = node.json("--suri", "//Alice", "--crypto", crypto, "transfer", CHARLIE.ss58_address, "1 UNIT")
        assert sent["from"] == address
        assert node.free(CHARLIE.ss58_address) == before + UNIT
        assert node.free(address) == 4 * UNIT - _fee(sent)
    soft = node.run("--suri", "//Alice/soft", "--crypto", "ecdsa", "transfer", CHARLIE.ss58_address, "1 UNIT")
    assert soft.exit_code == 2 and "hard junctions only" in soft.stderr


def test_pallet_errors_and_nonces_through_the_client(chain: Any) -> None:
    with ChainClient.connect(chain.url, timeout=30) as client:
        with pytest.raises(NotFoundError, match="check the submission id") as missing:
            client.submit(BOB, "accept_task_result", {"submission_id": 12345})
        assert missing.value.name == "SubmissionNotFound"
        assert "check the submission id" in missing.value.message
        with pytest.raises(NotFoundError, match="check the task id"):
            client.submit(BOB, "close_task", {"task_id": 777})
        with pytest.raises(DispatchError, match="Insufficient funds|cannot pay") as poor:
            client.submit(BOB, "transfer_keep_alive", {"dest": CHARLIE.ss58_address, "value": 1 << 70}, module="Balances")
        assert poor.value.exit_code == 7
        before = client.balance(CHARLIE.ss58_address).free
        for _ in range(3):
            client.submit(ALICE, "transfer_keep_alive", {"dest": CHARLIE.ss58_address, "value": UNIT}, module="Balances")
        assert client.balance(CHARLIE.ss58_address).free == before + 3 * UNIT
        fresh = keypair_from_suri("//Nobody//at//all")
        with pytest.raises(TransactionError, match="fee"):
            client.submit(fresh, "transfer_keep_alive", {"dest": CHARLIE.ss58_address, "value": 1}, module="Balances")
        with pytest.raises(PermissionDeniedError, match="Only the task creator can close"):
            receipt = client.submit(ALICE, "create_task", {
                "task_type": "DataAnnotators", "question": "label", "pays_amount": UNIT, "max_assignments": 1,
                "validation_strategy": "ManualAccept", "expiration_block": client.block_number() + 100,
                "assignment_deadline": 10,
                "assets": {"DataAnnotators": {"annotation_files": {
                    "storage": "S3", "uri": "s3://bucket/x", "digest": "0x" + "11" * 32}}},
            })
            task_id = int(receipt.find_event("DecentralMLModule", "TaskCreated")["task_id"])
            assert client.get_task(task_id).question == "label"
            client.submit(BOB, "close_task", {"task_id": task_id})


def _round_trip(node: Node, assets: Path, result_dir: Path, *storage: Any) -> tuple[dict, dict]:
    created = node.json("--suri", "//Alice", "create-task", assets, "--question", "remote", "--reward", "1 UNIT",
                        *storage)
    assigned = node.json("--suri", "//Bob", "assign-task", created["task_id"], "--work-dir", node.tmp / "work")
    sent = node.json("--suri", "//Bob", "send-result", assigned["submission_id"], result_dir, *storage)
    fetched = node.json("show-result", assigned["submission_id"], "--download", node.tmp / "fetched")
    assert (Path(fetched["downloaded_to"]) / "weights.bin").read_bytes() == (result_dir / "weights.bin").read_bytes()
    assert (Path(assigned["directory"]) / "start_task.sh").is_file()
    return created, sent


def test_flow_with_s3_storage(devnode_cli: Node, s3_env: Any, assets: Path, result_dir: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = s3_env.new_bucket("cli")
    monkeypatch.setenv("DECENTRALML_S3_ENDPOINT_URL", s3_env.endpoint_url)
    created, sent = _round_trip(devnode_cli, assets, result_dir, "--storage", "s3", "--s3-bucket", bucket)
    assert created["assets"]["bundle"]["uri"].startswith(f"s3://{bucket}/")
    assert sent["result"]["storage"] == "S3"


def test_flow_with_ipfs_storage(devnode_cli: Node, ipfs_daemon: Any, assets: Path, result_dir: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECENTRALML_IPFS_API", ipfs_daemon.api)
    monkeypatch.setenv("DECENTRALML_IPFS_AUTH", ipfs_daemon.auth)
    created, sent = _round_trip(devnode_cli, assets, result_dir, "--storage", "ipfs")
    assert created["assets"]["bundle"]["uri"].startswith("ipfs://")
    assert sent["result"]["storage"] == "IPFS"
