"""The local-path faults of commands that need a chain: one LocalPathError line (exit 3) naming the path,
against the shared dev node; nothing is taken on chain when the work directory cannot be made."""

import errno
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import NodeCli, assign, create

pytestmark = pytest.mark.integration


def _error(result: Any) -> dict:
    assert len(result.stderr.splitlines()) == 1, result.stderr
    return json.loads(result.stderr)["error"]


@pytest.mark.parametrize("under", ["", "x"])
def test_assign_task_into_a_work_dir_under_a_file(under: str, node_cli: NodeCli, funded_account: Any,
                                                  assets: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "FILE"
    blocker.write_text("x")
    task_id = create(node_cli, assets, funded_account().suri)
    worker = funded_account()
    result = node_cli("--json", "--suri", worker.suri, "assign-task", task_id, "--work-dir", blocker / under)
    assert result.exit_code == 3, result.stderr
    error = _error(result)
    assert error["type"] == "LocalPathError" and str(blocker) in error["message"], error
    assert ("Not a directory" if under else "File exists") in error["message"], error
    assert "not a directory" in error["hint"].lower() or "regular file" in error["hint"], error


def test_show_result_download_under_a_file_or_read_only(node_cli: NodeCli, funded_account: Any, assets: Path,
                                                        result_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    worker = funded_account()
    task_id = create(node_cli, assets, funded_account().suri)
    sid = assign(node_cli, task_id, worker.suri)["submission_id"]
    node_cli.json("--suri", worker.suri, "send-result", sid, result_dir)
    blocker = tmp_path / "FILE"
    blocker.write_text("x")
    result = node_cli("--json", "show-result", sid, "--download", blocker / "x")
    assert result.exit_code == 3, result.stderr
    assert _error(result)["type"] == "LocalPathError"

    (tmp_path / "RO").mkdir()
    real_mkdtemp = tempfile.mkdtemp

    def read_only(*args: Any, dir: Any = None, **kwargs: Any) -> str:
        if dir is not None and Path(dir) == tmp_path / "RO":
            raise OSError(errno.EROFS, "Read-only file system", str(dir))
        return real_mkdtemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    result = node_cli("--json", "show-result", sid, "--download", tmp_path / "RO" / "dl")
    assert result.exit_code == 3, result.stderr
    error = _error(result)
    assert error["type"] == "LocalPathError" and "Read-only file system" in error["message"], error
    assert str(tmp_path / "RO") in error["message"] and "store" not in error["message"]
