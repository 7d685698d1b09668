"""The top-level error handler: every command goes through it, on any Typer release the ranges admit."""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from decentralml.cli.app import LAZY_COMMANDS, app, command_app
from decentralml.cli.handler import HANDLED_MARK, CliApp
from decentralml.errors import NotFoundError
from decentralml.fl.framework_logs import QUIET_ENVIRONMENT, quiet_framework_logs


def _commands(command: Any, path: str = "decentralml") -> list[tuple[str, Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, f"{path} {name}")
    return found


def test_every_command_and_callback_maps_errors() -> None:
    """The root app, its stand-ins, and every real command behind them (each module's own app)."""
    found = _commands(get_command(app))
    for name in LAZY_COMMANDS:
        found += _commands(get_command(command_app(name)), f"decentralml ({name})")
    assert len(found) > 2 * len(LAZY_COMMANDS)
    unhandled = [path for path, command in found
                 if command.callback is not None and not getattr(command.callback, HANDLED_MARK, False)]
    assert unhandled == [], "register these through CliApp (decentralml.cli.handler), not typer.Typer"


@pytest.fixture
def printed_warnings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Warnings printed on stderr as outside pytest (whose own capture would hide them)."""

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        monkeypatch.setattr(warnings, "showwarning", show)
        yield


def _probe_app() -> CliApp:
    probe = CliApp()

    @probe.callback()
    def root(json_output: bool = typer.Option(False, "--json"), debug: bool = typer.Option(False, "--debug")) -> None:
        """Root options as the real app names them."""

    @probe.command()
    def fail(kind: str) -> None:
        warnings.warn("overflow encountered in exp", RuntimeWarning, stacklevel=1)
        if kind == "ours":
            raise NotFoundError("There is no task 9.", hint="List them with list-tasks.", name="TaskNotFound")
        if kind == "interrupt":
            raise KeyboardInterrupt
        if kind == "exit":
            raise typer.Exit(3)
        raise ValueError("boom")

    return probe


@pytest.mark.parametrize(("kind", "code", "text"), [
    ("ours", 8, "Error: There is no task 9. List them with list-tasks."),
    ("interrupt", 130, "Error: Interrupted."),
    ("bug", 1, "Error: Unexpected ValueError: boom. Rerun with --debug for the traceback."),
])
def test_failures_are_one_line_with_the_class_exit_code(kind: str, code: int, text: str, printed_warnings: None) -> None:
    result = CliRunner().invoke(_probe_app(), ["fail", kind])
    assert result.exit_code == code
    assert result.stdout == ""
    assert text in result.stderr and "Traceback" not in result.stderr


def test_json_failure_is_one_json_line_even_when_numpy_warns(printed_warnings: None) -> None:
    plain = CliRunner().invoke(_probe_app(), ["fail", "ours"])
    assert "RuntimeWarning" in plain.stderr  # the probe does warn

    result = CliRunner().invoke(_probe_app(), ["--json", "fail", "ours"])
    assert result.exit_code == 8 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert json.loads(line) == {"error": {"type": "NotFoundError", "message": "There is no task 9.",
                                          "hint": "List them with list-tasks.", "exit_code": 8, "name": "TaskNotFound"}}


@pytest.mark.parametrize(("kind", "code", "json_type"), [("interrupt", 130, "Interrupted"), ("bug", 1, "UnexpectedError")])
def test_json_failures_outside_the_error_classes_have_a_documented_type_and_a_hint_key(
        kind: str, code: int, json_type: str, printed_warnings: None) -> None:
    result = CliRunner().invoke(_probe_app(), ["--json", "fail", kind])
    assert result.exit_code == code and result.stdout == ""
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("{")]
    error = json.loads(line)["error"]
    assert error["type"] == json_type and "hint" in error and error["exit_code"] == code


def test_debug_shows_the_traceback_and_warnings(printed_warnings: None) -> None:
    result = CliRunner().invoke(_probe_app(), ["--json", "--debug", "fail", "bug"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "RuntimeWarning" in result.stderr


def test_typer_exit_passes_through(printed_warnings: None) -> None:
    result = CliRunner().invoke(_probe_app(), ["fail", "exit"])
    assert result.exit_code == 3 and "Error" not in result.stderr


def test_quiet_framework_logs_sets_unset_variables_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in QUIET_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    monkeypatch.setattr(logging.getLogger("absl"), "level", logging.NOTSET)
    quiet_framework_logs(debug=True)
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    quiet_framework_logs()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1"  # the user's choice stays
    assert logging.getLogger("absl").level == logging.ERROR


@pytest.mark.parametrize("module, framework", [
    ("torch", "PyTorch"), ("torch.nn", "PyTorch"), ("tensorflow", "TensorFlow"), ("keras", "TensorFlow"), ("flwr", "Flower"),
])
def test_a_missing_ml_framework_is_a_config_error_naming_the_extra(module: str, framework: str) -> None:
    from decentralml.cli.handler import exit_for

    exit_ = exit_for(ModuleNotFoundError(f"No module named '{module}'", name=module), json_mode=False, debug=False)
    assert exit_.exit_code == 3


def test_another_missing_module_stays_unexpected(capsys: pytest.CaptureFixture[str]) -> None:
    from decentralml.cli.handler import exit_for

    exit_ = exit_for(ModuleNotFoundError("No module named 'torchvision_extra'", name="torchvision_extra"),
                     json_mode=False, debug=False)
    assert exit_.exit_code == 1
    assert "Unexpected ModuleNotFoundError" in capsys.readouterr().err


def test_split_init_bundle_without_pytorch_says_to_install_the_ml_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in [name for name in sys.modules if name == "torch" or name.startswith(("torch.", "decentralml.fl.split"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ModuleNotFoundError, as without the extra
    result = CliRunner().invoke(app, ["split", "init-bundle", str(tmp_path / "out")])
    assert result.exit_code == 3, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "needs PyTorch" in line and "pip install 'decentralml[ml]'" in line
    assert not (tmp_path / "out").exists()

    result = CliRunner().invoke(app, ["--json", "split", "init-bundle", str(tmp_path / "out")])
    assert result.exit_code == 3 and result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "ConfigError" and "PyTorch" in error["message"]
