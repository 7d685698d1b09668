"""create-task, list-tasks, show-task, assign-task, close-task."""

import json
import os
import stat
from pathlib import Path

from decentralml.errors import TransactionError
from tests.cli.conftest import ALICE, BOB, UNIT, Cli, assign, create


def test_create_task_uploads_escrows_and_prints_the_id(cli: Cli, assets: Path) -> None:
    result = cli("--suri", "//Alice", "create-task", assets, "--question", "Train MNIST", "--reward", "2 UNIT",
                 "--max-assignments", "3")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1\n"
    assert "Created task 1: escrowed 6 UNIT" in result.stderr
    task = cli.chain.tasks[1]
    assert task.pays_amount == 2 * UNIT and task.max_assignments == 3 and task.creator == ALICE
    assert cli.chain.balances[ALICE] == 994 * UNIT
    bundle = task.assets.bundle
    assert bundle.uri.startswith("file://" + str(cli.store_dir.resolve())) and bundle.uri.endswith("/")


def test_create_task_json_shape(cli: Cli, assets: Path) -> None:
    data = cli.json("--suri", "//Alice", "create-task", assets, "--question", "q", "--reward", "0.5",
                    "--validation", "auto", "--type", "model-contributor", "--expires-in", "50")
    assert set(data) == {"task_id", "escrow", "expiration_block", "assets", "transaction"}
    assert data["escrow"] == {"planck": str(UNIT // 2), "formatted": "0.5 UNIT"}
    assert data["expiration_block"] == 60
    assert set(data["assets"]["bundle"]) == {"storage", "uri", "digest", "size"}
    assert data["assets"]["base_model"] is None
    assert set(data["transaction"]) == {"extrinsic_hash", "block_hash", "block_number", "fee", "events"}


def test_create_task_with_base_model(cli: Cli, assets: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.safetensors"
    model.write_bytes(b"weights")
    data = cli.json("--suri", "//Alice", "create-task", assets, "--question", "q", "--reward", "1",
                    "--base-model", model)
    assert data["assets"]["base_model"]["uri"].startswith("file://")
    assert cli.chain.tasks[1].assets.base_model is not None


def test_create_task_input_errors(cli: Cli, assets: Path) -> None:
    base = ("--suri", "//Alice", "create-task")
    missing = cli(*base, assets / "nope", "--question", "q", "--reward", "1")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    bad_amount = cli(*base, assets, "--question", "q", "--reward", "1.5 DOT")
    assert bad_amount.exit_code == 2 and "Unknown unit 'DOT'" in bad_amount.stderr
    too_many = cli(*base, assets, "--question", "q", "--reward", "1", "--max-assignments", "101")
    assert too_many.exit_code == 2
    too_small = cli(*base, assets, "--question", "q", "--reward", "0.001")
    assert too_small.exit_code == 2 and "below the chain's minimum of 0.01 UNIT" in too_small.stderr
    deadline = cli(*base, assets, "--question", "q", "--reward", "1", "--expires-in", "10", "--assignment-deadline", "10")
    assert deadline.exit_code == 2 and "--assignment-deadline" in deadline.stderr
    bad_storage = cli(*base, assets, "--question", "q", "--reward", "1", "--storage", "ftp")
    assert bad_storage.exit_code == 2 and "Unknown storage" in bad_storage.stderr
    assert cli.chain.calls == [] and not cli.store_dir.exists()


def test_create_task_insufficient_funds_uploads_nothing(cli: Cli, assets: Path) -> None:
    result = cli("--suri", "//Bob", "create-task", assets, "--question", "q", "--reward", "5 UNIT",
                 "--max-assignments", "2")
    assert result.exit_code == 7 and "Insufficient funds" in result.stderr
    assert cli.chain.calls == [] and not (cli.store_dir / "dirs").exists()


def test_failed_transaction_says_where_the_upload_is(cli: Cli, assets: Path) -> None:
    cli.chain.fail_next = TransactionError("The block is full. Retry in a moment.")
    result = cli("--suri", "//Alice", "create-task", assets, "--question", "q", "--reward", "1")
    assert result.exit_code == 6
    line = result.stderr.strip()
    assert line.count("\n") == 0
    assert "The block is full." in line and "Nothing on chain points at the upload: file://" in line
    assert cli.chain.tasks == {}


def test_list_and_show_tasks(cli: Cli, assets: Path) -> None:
    create(cli, assets)
    create(cli, assets, "--expires-in", "2")
    cli.chain.block = 13  # task 2 expired
    table = cli("list-tasks")
    assert table.exit_code == 0 and "Train" in table.stdout and "ManualAccept" in table.stdout and "Train MNIST" in table.stdout
    listed = cli.json("list-tasks")
    assert [t["task_id"] for t in listed] == [1]
    assert [t["task_id"] for t in cli.json("list-tasks", "--all")] == [2, 1]  # newest first
    assert [t["task_id"] for t in cli.json("list-tasks", "--all", "--sort", "oldest")] == [1, 2]
    assert [t["task_id"] for t in cli.json("--suri", "//Alice", "list-tasks", "--mine")] == [2, 1]
    assert cli.json("--suri", "//Bob", "list-tasks", "--mine") == []
    assert [t["task_id"] for t in cli.json("list-tasks", "--status", "open", "--type", "model-contributor")] == [2, 1]
    shown = cli.json("show-task", "1")
    assert shown["pays_amount"] == {"planck": str(2 * UNIT), "formatted": "2 UNIT"}
    assert shown["status"] == "Open" and shown["free_slots"] == 1 and shown["creator"] == ALICE
    assert "Task 1" in cli("show-task", "1").stdout


def test_show_unknown_task(cli: Cli) -> None:
    result = cli("show-task", "42")
    assert result.exit_code == 8 and "There is no task 42." in result.stderr


def test_assign_task_downloads_verifies_and_prints_next_step(cli: Cli, assets: Path) -> None:
    task_id = create(cli, assets)
    result = cli("--suri", "//Bob", "assign-task", str(task_id), "--work-dir", cli.tmp / "work")
    assert result.exit_code == 0, result.stderr
    directory = cli.tmp / "work" / "task-1-submission-1"
    assert f"Next: cd {directory} && ./start_task.sh" in result.stdout
    script = directory / "start_task.sh"  # the client's launcher; the creator's script is kept in bundle/
    assert "run-task 1 --task-dir" in script.read_text()
    assert (directory / "bundle" / "start_task.sh").read_text() == "#!/bin/sh\necho training\n"
    assert os.stat(script).st_mode & stat.S_IXUSR
    assert json.loads((directory / ".decentralml" / "task.json").read_text())["submission_id"] == 1
    assert cli.chain.submissions[1].worker == BOB
    assert [p.name for p in (cli.tmp / "work").iterdir()] == ["task-1-submission-1"]


def test_assign_task_json_shape(cli: Cli, assets: Path) -> None:
    data = assign(cli, create(cli, assets))
    assert set(data) == {"task_id", "submission_id", "deadline", "directory", "start_script", "next_step", "transaction"}
    assert data["submission_id"] == 1 and data["next_step"].endswith("./start_task.sh")


def test_assign_task_errors_leave_nothing_behind(cli: Cli, assets: Path) -> None:
    task_id = create(cli, assets)
    own = cli("--suri", "//Alice", "assign-task", str(task_id), "--work-dir", cli.tmp / "work")
    assert own.exit_code == 9 and "cannot take its own task" in own.stderr
    assert cli("--suri", "//Bob", "assign-task", "7").exit_code == 8
    assign(cli, task_id)
    full = cli("--suri", "//Charlie", "assign-task", str(task_id), "--work-dir", cli.tmp / "work")
    assert full.exit_code == 7 and "no free slot" in full.stderr
    assert sorted(p.name for p in (cli.tmp / "work").iterdir()) == ["task-1-submission-1"]
    cli.chain.block = 10_000
    expired = cli("--suri", "//Charlie", "assign-task", str(task_id))
    assert expired.exit_code == 7 and "expired" in expired.stderr


def test_assign_task_integrity_failure(cli: Cli, assets: Path) -> None:
    task_id = create(cli, assets)
    bundle = cli.chain.tasks[task_id].assets.bundle
    stored = Path(bundle.uri.removeprefix("file://"))
    for path in stored.rglob("settings.py"):
        path.write_text("EPOCHS = 1000  # tampered\n")
    result = cli("--suri", "//Bob", "assign-task", str(task_id), "--work-dir", cli.tmp / "work")
    assert result.exit_code == 14, result.stderr
    assert cli.chain.submissions == {}
    assert not (cli.tmp / "work").exists() or list((cli.tmp / "work").iterdir()) == []


def test_close_task_refunds(cli: Cli, assets: Path) -> None:
    task_id = create(cli, assets)
    data = cli.json("--suri", "//Alice", "close-task", str(task_id))
    assert data["refund"] == {"planck": str(2 * UNIT), "formatted": "2 UNIT"}
    assert cli.chain.balances[ALICE] == 1000 * UNIT
    assert cli("--suri", "//Bob", "close-task", "1").exit_code == 9
    assert cli("--suri", "//Alice", "close-task", "9").exit_code == 8


def test_storage_unreachable_and_missing_artifact(cli: Cli, assets: Path) -> None:
    down = cli("--suri", "//Alice", "create-task", assets, "--question", "q", "--reward", "1",
               "--storage", "ipfs", "--ipfs-api", "http://127.0.0.1:1")
    assert down.exit_code == 11, down.stderr
    assert cli.chain.calls == []
    task_id = create(cli, assets)
    stored = Path(cli.chain.tasks[task_id].assets.bundle.uri.removeprefix("file://"))
    import shutil

    shutil.rmtree(stored)
    gone = cli("--suri", "//Bob", "assign-task", str(task_id), "--work-dir", cli.tmp / "work")
    assert gone.exit_code == 12, gone.stderr
    assert cli.chain.submissions == {}


def test_quiet_keeps_data_and_drops_messages(cli: Cli, assets: Path) -> None:
    result = cli("--quiet", "--suri", "//Alice", "create-task", assets, "--question", "q", "--reward", "1")
    assert result.exit_code == 0 and result.stdout == "1\n" and result.stderr == ""


def test_quiet_assign_task_prints_only_the_submission_id(cli: Cli, assets: Path) -> None:
    task_id = create(cli, assets, "--max-assignments", "2")
    result = cli("-q", "--suri", "//Bob", "assign-task", str(task_id), "--work-dir", str(cli.tmp / "work"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1\n" and result.stderr == ""
    loud = cli("--suri", "//Charlie", "assign-task", str(task_id), "--work-dir", str(cli.tmp / "work2"))
    assert "Next:" in loud.stdout and "Then: decentralml send-result 2 RESULT_DIR" in loud.stdout
