"""create-task, list-tasks, show-task, assign-task, close-task against the shared dev node; the tests of the
chain lifecycle (``on_both_chains``) also against chopsticks running the WebAssembly runtime."""

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from decentralml.errors import TransactionError
from tests.cli.conftest import UNIT, NodeCli, assign, create
from tests.cli.faults import fail_next_submission
from tests.fixtures.chains import FUNDING, on_both_chains

pytestmark = pytest.mark.integration


def _bundle_dir(cli: NodeCli, task_id: int) -> Path:
    return Path(cli.task(task_id).assets.bundle.uri.removeprefix("file://"))


def _work(cli: NodeCli) -> Path:
    return cli.tmp / "work"


@on_both_chains
def test_create_task_uploads_escrows_and_prints_the_id(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    creator = funded_account()
    result = node_cli("--suri", creator.suri, "create-task", assets, "--question", "Train MNIST", "--reward", "2 UNIT",
                      "--max-assignments", "3")
    assert result.exit_code == 0, result.stderr
    task_id = int(result.stdout)
    assert result.stdout == f"{task_id}\n"
    assert f"Created task {task_id}: escrowed 6 UNIT" in result.stderr
    task = node_cli.task(task_id)
    assert task.pays_amount == 2 * UNIT and task.max_assignments == 3 and task.creator == creator.address
    fee = FUNDING - 6 * UNIT - node_cli.free(creator.address)
    assert 0 < fee < UNIT // 100  # the escrow left the account, and a transaction fee
    bundle = task.assets.bundle
    assert bundle.uri.startswith("file://" + str(node_cli.store_dir.resolve())) and bundle.uri.endswith("/")


def test_create_task_json_shape(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    creator = funded_account()
    data = node_cli.json("--suri", creator.suri, "create-task", assets, "--question", "q", "--reward", "0.5",
                         "--validation", "auto", "--type", "model-contributor", "--expires-in", "50")
    assert set(data) == {"task_id", "escrow", "expiration_block", "assets", "transaction"}
    assert data["escrow"] == {"planck": str(UNIT // 2), "formatted": "0.5 UNIT"}
    assert data["expiration_block"] == node_cli.task(data["task_id"]).expiration_block
    assert data["expiration_block"] - data["transaction"]["block_number"] in (49, 50)
    assert set(data["assets"]["bundle"]) == {"storage", "uri", "digest", "size"}
    assert data["assets"]["base_model"] is None
    assert set(data["transaction"]) == {"extrinsic_hash", "block_hash", "block_number", "fee", "events"}


def test_create_task_with_base_model(node_cli: NodeCli, funded_account: Any, assets: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.safetensors"
    model.write_bytes(b"weights")
    data = node_cli.json("--suri", funded_account().suri, "create-task", assets, "--question", "q", "--reward", "1",
                         "--base-model", model)
    assert data["assets"]["base_model"]["uri"].startswith("file://")
    assert node_cli.task(data["task_id"]).assets.base_model is not None


def test_create_task_input_errors(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    creator = funded_account()
    base = ("--suri", creator.suri, "create-task")
    missing = node_cli(*base, assets / "nope", "--question", "q", "--reward", "1")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    bad_amount = node_cli(*base, assets, "--question", "q", "--reward", "1.5 DOT")
    assert bad_amount.exit_code == 2 and "Unknown unit 'DOT'" in bad_amount.stderr
    too_many = node_cli(*base, assets, "--question", "q", "--reward", "1", "--max-assignments", "101")
    assert too_many.exit_code == 2
    too_small = node_cli(*base, assets, "--question", "q", "--reward", "0.001")
    assert too_small.exit_code == 2 and "below the chain's minimum of 0.01 UNIT" in too_small.stderr
    deadline = node_cli(*base, assets, "--question", "q", "--reward", "1", "--expires-in", "10",
                        "--assignment-deadline", "10")
    assert deadline.exit_code == 2 and "--assignment-deadline" in deadline.stderr
    bad_storage = node_cli(*base, assets, "--question", "q", "--reward", "1", "--storage", "ftp")
    assert bad_storage.exit_code == 2 and "Unknown storage" in bad_storage.stderr
    assert node_cli.free(creator.address) == FUNDING  # nothing was sent: no fee
    assert not node_cli.store_dir.exists()


def test_create_task_insufficient_funds_uploads_nothing(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    poor = funded_account(10 * UNIT)
    result = node_cli("--suri", poor.suri, "create-task", assets, "--question", "q", "--reward", "5 UNIT",
                      "--max-assignments", "2")
    assert result.exit_code == 7 and "Insufficient funds" in result.stderr
    assert node_cli.free(poor.address) == 10 * UNIT and not (node_cli.store_dir / "dirs").exists()


def test_failed_transaction_says_where_the_upload_is(
    node_cli: NodeCli, funded_account: Any, assets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creator = funded_account()
    attempted = fail_next_submission(monkeypatch, TransactionError("The block is full. Retry in a moment."))
    result = node_cli("--suri", creator.suri, "create-task", assets, "--question", "q", "--reward", "1")
    assert result.exit_code == 6
    line = result.stderr.strip()
    assert line.count("\n") == 0
    assert "The block is full." in line and "Nothing on chain points at the upload: file://" in line
    assert attempted == ["create_task"]
    assert node_cli.json("--suri", creator.suri, "list-tasks", "--mine", "--all") == []


@on_both_chains
def test_list_and_show_tasks(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    creator, other = funded_account(), funded_account()
    first = create(node_cli, assets, creator.suri)
    second = create(node_cli, assets, creator.suri, "--expires-in", "2")
    node_cli.new_blocks(2)  # the second task expires
    mine = ("--suri", creator.suri, "list-tasks", "--mine")
    table = node_cli(*mine, "--all")
    assert table.exit_code == 0 and "Train" in table.stdout and "ManualAccept" in table.stdout
    assert "Train MNIST" in table.stdout
    open_ids = [t["task_id"] for t in node_cli.json("list-tasks", "--limit", "0")]
    assert first in open_ids and second not in open_ids
    assert [t["task_id"] for t in node_cli.json(*mine, "--all")] == [second, first]  # newest first
    assert [t["task_id"] for t in node_cli.json(*mine, "--all", "--sort", "oldest")] == [first, second]
    assert [t["task_id"] for t in node_cli.json(*mine)] == [second, first]  # --mine lists expired ones too
    assert node_cli.json("--suri", other.suri, "list-tasks", "--mine", "--all") == []
    by_status = node_cli.json(*mine, "--all", "--status", "open", "--type", "model-contributor")
    assert [t["task_id"] for t in by_status] == [second, first]  # status on chain: expiry does not change it
    shown = node_cli.json("show-task", first)
    assert shown["pays_amount"] == {"planck": str(2 * UNIT), "formatted": "2 UNIT"}
    assert shown["status"] == "Open" and shown["free_slots"] == 1 and shown["creator"] == creator.address
    assert f"Task {first}" in node_cli("show-task", first).stdout


def test_show_unknown_task(node_cli: NodeCli) -> None:
    result = node_cli("show-task", "999999999")
    assert result.exit_code == 8 and "There is no task 999999999." in result.stderr


@on_both_chains
def test_assign_task_downloads_verifies_and_prints_next_step(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    creator, worker = funded_account(), funded_account()
    task_id = create(node_cli, assets, creator.suri)
    result = node_cli("--suri", worker.suri, "assign-task", task_id, "--work-dir", _work(node_cli))
    assert result.exit_code == 0, result.stderr
    (directory,) = list(_work(node_cli).iterdir())
    sid = int(directory.name.rsplit("-", 1)[1])
    assert directory.name == f"task-{task_id}-submission-{sid}"
    assert f"Next: cd {directory} && ./start_task.sh" in result.stdout
    script = directory / "start_task.sh"  # the client's launcher; the creator's script is kept in bundle/
    assert f"run-task {sid} --task-dir" in script.read_text()  # the submission, not the task
    assert (directory / "bundle" / "start_task.sh").read_text() == "#!/bin/sh\necho training\n"
    assert os.stat(script).st_mode & stat.S_IXUSR
    assert json.loads((directory / ".decentralml" / "task.json").read_text())["submission_id"] == sid
    submission = node_cli.submission(sid)
    assert submission.worker == worker.address and submission.task_id == task_id


def test_assign_task_json_shape(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    task_id = create(node_cli, assets, funded_account().suri)
    data = assign(node_cli, task_id, funded_account().suri)
    assert set(data) == {"task_id", "submission_id", "deadline", "directory", "start_script", "next_step", "transaction"}
    assert data["task_id"] == task_id and data["next_step"].endswith("./start_task.sh")
    assert node_cli.submission(data["submission_id"]).deadline == data["deadline"]


@on_both_chains
def test_assign_task_errors_leave_nothing_behind(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    creator, worker, late = funded_account(), funded_account(), funded_account()
    task_id = create(node_cli, assets, creator.suri, "--expires-in", "20", "--assignment-deadline", "5")
    work = _work(node_cli)
    own = node_cli("--suri", creator.suri, "assign-task", task_id, "--work-dir", work)
    assert own.exit_code == 9 and "cannot take its own task" in own.stderr
    assert node_cli("--suri", worker.suri, "assign-task", "999999999").exit_code == 8
    taken = node_cli.json("--suri", worker.suri, "assign-task", task_id, "--work-dir", work)
    full = node_cli("--suri", late.suri, "assign-task", task_id, "--work-dir", work)
    assert full.exit_code == 7 and "no free slot" in full.stderr
    assert [p.name for p in work.iterdir()] == [f"task-{task_id}-submission-{taken['submission_id']}"]
    node_cli.new_blocks(20)
    expired = node_cli("--suri", late.suri, "assign-task", task_id, "--work-dir", work)
    assert expired.exit_code == 7 and "expired" in expired.stderr


@on_both_chains
def test_assign_task_twice_is_refused_before_sending(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    creator, worker = funded_account(), funded_account()
    task_id = create(node_cli, assets, creator.suri, "--max-assignments", "2")
    assign(node_cli, task_id, worker.suri)
    before = node_cli.free(worker.address)
    again = node_cli("--json", "--suri", worker.suri, "assign-task", task_id, "--work-dir", node_cli.tmp / "again")
    assert again.exit_code == 7, again.stderr
    error = json.loads(again.stderr)["error"]
    assert (error["name"], error["type"]) == ("AlreadyAssigned", "PreconditionError")
    assert "run-task" in error["hint"]
    assert node_cli.free(worker.address) == before  # nothing sent, no fee
    assert not (node_cli.tmp / "again").exists() or not any((node_cli.tmp / "again").iterdir())


def test_assign_task_integrity_failure(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    worker = funded_account()
    task_id = create(node_cli, assets, funded_account().suri)
    for path in _bundle_dir(node_cli, task_id).rglob("settings.py"):
        path.write_text("EPOCHS = 1000  # tampered\n")
    result = node_cli("--suri", worker.suri, "assign-task", task_id, "--work-dir", _work(node_cli))
    assert result.exit_code == 14, result.stderr
    assert node_cli.task(task_id).assigned == 0 and node_cli.json("--suri", worker.suri, "list-results", "--mine") == []
    assert not _work(node_cli).exists() or list(_work(node_cli).iterdir()) == []


@on_both_chains
def test_close_task_refunds(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    creator, other = funded_account(), funded_account()
    task_id = create(node_cli, assets, creator.suri)
    not_creator = node_cli("--json", "--suri", other.suri, "close-task", task_id)
    assert not_creator.exit_code == 9 and json.loads(not_creator.stderr)["error"]["name"] == "CloseNotAllowed"
    before = node_cli.free(creator.address)
    data = node_cli.json("--suri", creator.suri, "close-task", task_id)
    assert data["refund"] == {"planck": str(2 * UNIT), "formatted": "2 UNIT"}
    assert node_cli.free(creator.address) == before + 2 * UNIT - int(data["transaction"]["fee"])
    closed = node_cli.free(creator.address)
    again = node_cli("--json", "--suri", creator.suri, "close-task", task_id)
    error = json.loads(again.stderr)["error"]
    assert again.exit_code == 7 and error["name"] == "TaskNotOpen" and error["type"] == "PreconditionError"
    assert "already" in error["message"] and "pick another" not in again.stderr.lower() and error["hint"]
    assert node_cli.free(creator.address) == closed  # refused before submitting: no fee
    assert node_cli("--suri", creator.suri, "close-task", "999999999").exit_code == 8


@on_both_chains
def test_anyone_may_close_an_expired_task_and_the_creator_is_refunded(
    node_cli: NodeCli, funded_account: Any, assets: Path
) -> None:
    creator, anyone = funded_account(), funded_account()
    task_id = create(node_cli, assets, creator.suri, "--expires-in", "2")
    node_cli.new_blocks(2)
    before = node_cli.free(creator.address)
    data = node_cli.json("--suri", anyone.suri, "close-task", task_id)
    assert data["refund"]["formatted"] == "2 UNIT"
    assert node_cli.free(creator.address) == before + 2 * UNIT
    assert node_cli.task(task_id).status.value == "Closed"
    paid = node_cli.free(anyone.address)
    for signer in (anyone, creator):
        again = node_cli("--json", "--suri", signer.suri, "close-task", task_id)
        assert again.exit_code == 7 and json.loads(again.stderr)["error"]["type"] == "PreconditionError"
    assert node_cli.free(anyone.address) == paid and node_cli.free(creator.address) == before + 2 * UNIT


def test_close_task_with_work_in_flight_sends_nothing(node_cli: NodeCli, funded_account: Any, assets: Path,
                                                      result_dir: Path) -> None:
    creator, worker = funded_account(), funded_account()
    task_id = create(node_cli, assets, creator.suri)
    sid = int(assign(node_cli, task_id, worker.suri)["submission_id"])
    before = node_cli.free(creator.address)
    held = node_cli("--json", "--suri", creator.suri, "close-task", task_id)
    assert held.exit_code == 7 and json.loads(held.stderr)["error"]["name"] == "AssignmentsInProgress"
    node_cli.json("--suri", worker.suri, "send-result", sid, result_dir)
    pending = node_cli("--json", "--suri", creator.suri, "close-task", task_id)
    error = json.loads(pending.stderr)["error"]
    assert pending.exit_code == 7 and error["name"] == "ResultsPendingDecision" and error["type"] == "PreconditionError"
    assert node_cli.free(creator.address) == before and node_cli.task(task_id).status.value == "Open"


def test_storage_unreachable_and_missing_artifact(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    creator, worker = funded_account(), funded_account()
    down = node_cli("--suri", creator.suri, "create-task", assets, "--question", "q", "--reward", "1",
                    "--storage", "ipfs", "--ipfs-api", "http://127.0.0.1:1")
    assert down.exit_code == 11, down.stderr
    assert node_cli.free(creator.address) == FUNDING  # nothing was sent
    task_id = create(node_cli, assets, creator.suri)
    shutil.rmtree(_bundle_dir(node_cli, task_id))
    gone = node_cli("--suri", worker.suri, "assign-task", task_id, "--work-dir", _work(node_cli))
    assert gone.exit_code == 12, gone.stderr
    assert node_cli.task(task_id).assigned == 0


def test_quiet_keeps_data_and_drops_messages(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    result = node_cli("--quiet", "--suri", funded_account().suri, "create-task", assets, "--question", "q",
                      "--reward", "1")
    assert result.exit_code == 0 and result.stdout.strip().isdigit() and result.stderr == ""


def test_quiet_assign_task_prints_only_the_submission_id(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    task_id = create(node_cli, assets, funded_account().suri, "--max-assignments", "2")
    quiet = node_cli("-q", "--suri", funded_account().suri, "assign-task", str(task_id),
                     "--work-dir", str(node_cli.tmp / "work-quiet"))
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stdout.strip().isdigit() and quiet.stderr == ""
    loud = node_cli("--suri", funded_account().suri, "assign-task", str(task_id),
                    "--work-dir", str(node_cli.tmp / "work-loud"))
    assert loud.exit_code == 0, loud.stderr
    sid = int(quiet.stdout) + 1
    assert "Next:" in loud.stdout and f"Then: decentralml send-result {sid} RESULT_DIR" in loud.stdout
