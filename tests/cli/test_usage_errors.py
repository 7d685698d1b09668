"""Usage errors raised while Typer/Click parse the command line, through the console-script entry point.

Messages are matched loosely: Typer 0.29's own Click words them differently from click 8.
"""

import json

import pytest

from decentralml.cli.app import main

ADDRESS = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"

USAGE_ERRORS = [
    pytest.param(["show-task", "abc"], "valid integer", id="bad-int"),
    pytest.param(["show-task"], "missing argument 'task_id'", id="missing-argument"),
    pytest.param(["no-such-command"], "no-such-command", id="unknown-command"),
    pytest.param(["devnode", "--rpc-port", "99999"], "--rpc-port", id="out-of-range"),
    pytest.param(["transfer", ADDRESS, "--1"], "--1", id="option-looking-amount"),
    pytest.param(["show-task", "1", "--no-such-option"], "--no-such-option", id="unknown-option"),
]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    out, err = capsys.readouterr()
    return exited.value.code, out, err


@pytest.mark.parametrize(("argv", "message"), USAGE_ERRORS)
def test_usage_error_under_json_is_one_json_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["--json", *argv], capsys)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    error = json.loads(err)["error"]
    assert error["type"] == "UsageError" and error["exit_code"] == 2 and message in error["message"].lower(), error


@pytest.mark.parametrize(("argv", "message"), USAGE_ERRORS)
def test_usage_error_under_json_from_the_environment(argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECENTRALML_JSON", "1")
    code, _, err = _run(argv, capsys)
    assert code == 2 and json.loads(err)["error"]["type"] == "UsageError"


@pytest.mark.parametrize(("argv", "message"), USAGE_ERRORS)
def test_usage_error_without_json_is_the_usage_message(argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DECENTRALML_JSON", raising=False)
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == "" and "Usage:" in err


def test_help_and_version_under_json_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["--json", "--version"], capsys)
    assert code == 0 and "decentralml" in out
    code, out, _ = _run(["--json", "show-task", "--help"], capsys)
    assert code == 0 and "show-task" in out
