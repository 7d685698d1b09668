"""Local file-system failures are one LocalPathError line (exit 3) naming the path, never "Unexpected ... exit 1"."""

import errno
import json
import tempfile
from pathlib import Path

import pytest

from decentralml.cli.app import main
from decentralml.cli.handler import MESSAGE_LENGTH, exit_for
from decentralml.untrusted import clip

LONG_NAME = "a" * 100_000


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    with pytest.raises(SystemExit) as exited:
        main(["--json", *argv])
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err[:2000]
    return exited.value.code, json.loads(err)["error"]


@pytest.fixture
def regular_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("x")
    return tmp_path / "FILE"


def test_a_data_dir_that_is_a_file(regular_file: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(regular_file))
    monkeypatch.setenv("DECENTRALML_PASSWORD", "a long enough password")
    code, error = _run(["account", "new", "x1"], capsys)
    assert code == 3 and error["type"] == "LocalPathError", error
    assert str(regular_file) in error["message"] and "Not a directory" in error["message"]
    assert "regular file" in error["hint"]


def test_a_devnode_base_path_that_is_a_file(regular_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, error = _run(["devnode", "--base-path", str(regular_file)], capsys)
    assert code == 3 and error["type"] == "LocalPathError" and "Not a directory" in error["message"], error


@pytest.mark.parametrize("command", [["split", "init-bundle"], ["split", "prepare-data"]])
def test_a_name_too_long_is_clipped(command: list[str], regular_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, error = _run([*command, LONG_NAME], capsys)
    assert code == 3 and error["type"] == "LocalPathError", error
    assert "File name too long" in error["message"] and "more]…" in error["message"]
    assert len(error["message"]) < 400 and error["hint"] == "Choose a shorter path."


@pytest.mark.parametrize("command", [
    pytest.param(["split", "init-bundle", "RO/out"], marks=pytest.mark.ml),  # needs PyTorch before it writes
    ["split", "prepare-data", "RO/pd"],
])
def test_a_read_only_output_directory(command: list[str], regular_file: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: the test runs as any user (root ignores modes), so the file system's refusal is raised."""
    (regular_file.parent / "RO").mkdir()

    def read_only(*args: object, dir: object = None, **kwargs: object) -> str:
        raise OSError(errno.EROFS, "Read-only file system", str(dir))

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    code, error = _run(command, capsys)
    assert code == 3 and error["type"] == "LocalPathError", error
    assert "Read-only file system" in error["message"] and "RO" in error["message"]
    assert not list((regular_file.parent / "RO").iterdir())


@pytest.mark.parametrize("exc", [IsADirectoryError(errno.EISDIR, "Is a directory", "out/g.safetensors"),
                                 OSError(errno.EROFS, "Read-only file system", "/ro/x"),
                                 PermissionError(errno.EACCES, "Permission denied", "/root/x")])
def test_the_handler_maps_an_os_error_naming_a_file(exc: OSError, capsys: pytest.CaptureFixture[str]) -> None:
    exited = exit_for(exc, json_mode=True, debug=False)
    error = json.loads(capsys.readouterr().err)["error"]
    assert exited.exit_code == 3 and error["type"] == "LocalPathError", error
    assert exc.filename in error["message"] and exc.strerror in error["message"]


def test_an_os_error_without_a_file_stays_unexpected(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_for(ConnectionResetError(104, "reset"), json_mode=True, debug=False).exit_code == 1


def test_an_error_line_quoting_a_huge_input_is_clipped(capsys: pytest.CaptureFixture[str]) -> None:
    exit_for(ValueError(LONG_NAME), json_mode=False, debug=False)
    err = capsys.readouterr().err
    assert len(err) <= MESSAGE_LENGTH + 20 and "more]…" in err


@pytest.mark.parametrize("length", [0, 1, 199, 200, 201, 100_000])
def test_clip_keeps_short_text_and_bounds_long_text(length: int) -> None:
    text = "x" * (length - 1) + "y" if length else ""
    clipped = clip(text)
    assert clipped == text if length <= 200 else (len(clipped) <= 200 and clipped.endswith("y") and "…[" in clipped)


def test_the_creator_bundle_script_refuses_an_empty_out_dir(tmp_path: Path) -> None:
    """assets/model_creator/model_creator.py init '' would write into the current directory."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "assets" / "model_creator" / "model_creator.py"
    done = subprocess.run([sys.executable, str(script), "init", ""], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2 and "argument out_dir: an empty string is not a path" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_federate_refuses_an_output_that_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-o DIR --force would end in IsADirectoryError after the downloads: refused before anything connects."""
    bundle = Path(__file__).resolve().parents[2] / "assets" / "model_creator"
    (tmp_path / "DIR").mkdir()
    code, error = _run(["--url", "ws://127.0.0.1:1", "federate", "1", "-o", str(tmp_path / "DIR"), "--force",
                        "--creator-bundle", str(bundle)], capsys)
    assert code == 2 and error["message"] == f"{tmp_path / 'DIR'} is a directory; --output is the global model file."


@pytest.mark.parametrize("argv", [["send-result", "1", LONG_NAME], ["create-task", LONG_NAME, "--question", "q", "--reward", "1"],
                                  ["split", "init-bundle", f"FILE/{LONG_NAME}"], ["show-task", LONG_NAME],
                                  ["split", "verify", LONG_NAME]])
def test_no_error_line_echoes_a_100_kb_argument(argv: list[str], regular_file: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, error = _run(["--url", "ws://127.0.0.1:1", *argv], capsys)
    assert code in (2, 3) and len(error["message"]) <= MESSAGE_LENGTH, error
    assert "more]…" in error["message"], error


@pytest.mark.parametrize("under", ["", "x"])
def test_contributor_run_says_its_work_dir_cannot_be_made_before_connecting(under: str, regular_file: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, error = _run(["--url", "ws://127.0.0.1:1", "--suri", "//Bob", "contributor", "run", "--yes", "--shard", "1",
                        "--work-dir", str(regular_file / under) if under else str(regular_file)], capsys)
    assert code == 3 and error["type"] == "LocalPathError" and str(regular_file) in error["message"], error
