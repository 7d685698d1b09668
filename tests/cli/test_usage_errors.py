"""Usage errors raised while Typer/Click parse the command line, through the console-script entry point.

Messages are matched loosely: Typer 0.29's own Click words them differently from click 8.
"""

import json
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any, get_args

import pytest
from typer.main import get_command

from decentralml.cli.app import LAZY_COMMANDS, app, command_app, main
from decentralml.primitives.scale import U32_MAX, U64_MAX, U128_MAX

ADDRESS = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
OVER_U64 = str(U64_MAX + 1)
U64_RANGE = f"is not in the range 0..{U64_MAX}."

USAGE_ERRORS = [
    pytest.param(["show-task", "abc"], "is not a whole number (digits 0-9)", id="bad-int"),
    pytest.param(["show-task"], "missing argument 'task_id'", id="missing-argument"),
    pytest.param(["no-such-command"], "no-such-command", id="unknown-command"),
    pytest.param(["devnode", "--rpc-port", "99999"], "--rpc-port", id="out-of-range"),
    pytest.param(["transfer", ADDRESS, "--1"], "--1", id="option-looking-amount"),
    pytest.param(["show-task", "1", "--no-such-option"], "--no-such-option", id="unknown-option"),
    # a group without its subcommand: the root's "Missing command.", never the group's help
    pytest.param(["split"], "missing command", id="group-split"),
    pytest.param(["account"], "missing command", id="group-account"),
    pytest.param(["creator"], "missing command", id="group-creator"),
    pytest.param(["contributor"], "missing command", id="group-contributor"),
    pytest.param(["--url", "ws://127.0.0.1:1", "account"], "missing command", id="group-after-root-options"),
    # `--` and negative numbers: the real command parses the tokens exactly as typed
    pytest.param(["show-task", "--", "-1"], "-1 is not in the range 0..", id="separator-first"),
    pytest.param(["run-task", "-y", "--", "-5"], "-5 is not in the range 0..", id="separator-after-options"),
    pytest.param(["transfer", ADDRESS, "--", "-1"], "cannot read the amount '-1'", id="separator-after-positional"),
    pytest.param(["run-task", "--", "-1", "--", "x"], "-1 is not in the range 0..", id="separator-twice"),
    pytest.param(["show-task", "-1"], "-1", id="negative-without-separator"),
    pytest.param(["transfer", ADDRESS, "-1"], "-1", id="negative-amount-without-separator"),
    # on-chain ids and amounts beyond their types
    pytest.param(["show-task", "99999999999999999999999"], U64_RANGE, id="task-id-over-u64"),
    pytest.param(["list-results", OVER_U64], U64_RANGE, id="list-results-over-u64"),
    pytest.param(["close-task", OVER_U64], U64_RANGE, id="close-task-over-u64"),
    pytest.param(["assign-task", OVER_U64], U64_RANGE, id="assign-task-over-u64"),
    pytest.param(["accept-result", OVER_U64], U64_RANGE, id="accept-result-over-u64"),
    pytest.param(["send-result", OVER_U64, "result"], U64_RANGE, id="send-result-over-u64"),
    pytest.param(["split", "contribute", OVER_U64], U64_RANGE, id="split-contribute-over-u64"),
    pytest.param(["create-task", ".", "--question", "q", "--reward", "1", "--expires-in", str(U32_MAX + 1)],
                 f"is not in the range 1..{U32_MAX}.", id="expires-in-over-u32"),
    pytest.param(["create-task", ".", "--question", "q", "--reward", "1", "--max-assignments", str(U32_MAX + 1)],
                 f"is not in the range 1..{U32_MAX}.", id="max-assignments-over-u32"),
    pytest.param(["transfer", ADDRESS, f"{U128_MAX + 1}planck"], "too large", id="amount-over-u128"),
    pytest.param(["create-task", ".", "--question", "q", "--reward", "1e3"], "cannot read the amount", id="reward-exponent"),
    pytest.param(["federate", "0", "--reward", "-1"], "cannot read the amount", id="federate-reward"),
    # digits of other scripts, which Python's int() reads: only 0-9 are a number here
    pytest.param(["transfer", ADDRESS, "\u0661\u0660"], "cannot read the amount", id="amount-arabic-indic-digits"),
    pytest.param(["transfer", ADDRESS, "\uff11\uff10planck"], "cannot read the amount", id="amount-full-width-digits"),
    pytest.param(["show-task", "\uff15"], "is not a whole number (digits 0-9)", id="id-full-width-digit"),
    pytest.param(["--timeout", "1e300", "show-task", "1"], "above the maximum, 86400", id="timeout-over-a-day"),
    # floats that are not finite numbers
    pytest.param(["--timeout", "nan", "show-task", "1"], "not a finite number", id="timeout-nan"),
    pytest.param(["run-task", "1", "--max-time", "inf"], "not a finite number", id="max-time-inf"),
    pytest.param(["devnode", "--block-time", "nan"], "not a finite number", id="block-time-nan"),
    # split init-bundle: refused before anything is written (tests/split/test_cli.py checks the files)
    pytest.param(["split", "init-bundle", "out", "--seed", "99999999999999999999999"], f"is not in the range 0..{U32_MAX}.", id="seed-over-u32"),
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


def test_a_bare_decentralml_under_json_is_missing_command(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """DECENTRALML_JSON and no arguments: one JSON line, not the help on stdout."""
    monkeypatch.setenv("DECENTRALML_JSON", "1")
    code, out, err = _run([], capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert json.loads(err)["error"]["message"] == "Missing command."


def test_a_group_without_its_subcommand_is_one_plain_line(capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DECENTRALML_JSON", raising=False)
    code, out, err = _run(["split"], capsys)
    assert code == 2 and out == ""
    assert "Missing command." in err and "Try 'decentralml split -h' for help." in err
    assert "init-bundle" not in err, "the group's help is not printed"


def _walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, [*path, name])


def _real_commands() -> list[tuple[list[str], Any]]:
    """(argv path, Click command) of the root and of every real command and group behind the stand-ins."""
    found = [([], get_command(app))]
    for name in LAZY_COMMANDS:
        found += _walk(get_command(command_app(name)).commands[name], [name])  # type: ignore[attr-defined]
    return found


def _groups() -> list[list[str]]:
    return [path for path, command in _real_commands()
            if path and hasattr(command, "commands") and not getattr(command, "invoke_without_command", False)]


@pytest.mark.parametrize("path", _groups(), ids=" ".join)
def test_every_group_without_its_subcommand_is_missing_command(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["--json", *path], capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    error = json.loads(err)["error"]
    assert error["message"] == "Missing command." and error["hint"] == f"Try 'decentralml {' '.join(path)} --help'."


def _numeric(param: Any) -> str | None:
    """"int", "float" or None: the type of a parameter's value on any Typer release (Click's types before 0.26)."""
    click_type = getattr(param, "type", None)
    if click_type is not None:  # Click's INT and our ASCII-digit parser are both named "integer"
        name = getattr(click_type, "name", "")
        return "int" if name == "integer" else "float" if name == "float" else None
    annotation = param.get_runtime_param().annotation  # Typer 0.26 and later: its own parameters
    kinds = {annotation, *get_args(annotation)}
    return "int" if int in kinds else "float" if float in kinds else None


def _params(kind: str) -> list[tuple[list[str], Any]]:
    """(argv path, parameter) of every option of that kind, and of every such argument that comes first."""
    found = []
    for path, command in _real_commands():
        arguments = [p for p in command.params if not p.opts[0].startswith("-")]
        found += [(path, param) for param in command.params if _numeric(param) == kind
                  and (param.opts[0].startswith("-") or param is arguments[0])]
    return found


def _argv(path: list[str], param: Any, value: str) -> list[str]:
    option = max(param.opts, key=len)
    return ["--json", *path, f"{option}={value}" if option.startswith("-") else value]


def test_every_integer_parameter_is_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    """Every integer a command takes has a range (on-chain values: their on-chain type's); one past u64 is refused."""
    integers = _params("int")
    assert len([param for _, param in integers if param.name in ("task_id", "submission_id")]) >= 15
    for path, param in integers:
        code, out, err = _run(_argv(path, param, str(U64_MAX + 1)), capsys)
        assert code == 2 and out == "", (path, param.name, err)
        error = json.loads(err)["error"]
        assert error["type"] == "UsageError" and "is not in the range" in error["message"], (path, param.name, error)
        if param.name in ("task_id", "submission_id"):
            assert error["message"].endswith(f"is not in the range 0..{U64_MAX}."), error


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
def test_every_float_parameter_refuses_what_is_not_a_finite_number(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    floats = _params("float")
    assert len(floats) >= 6
    for path, param in floats:
        code, out, err = _run(_argv(path, param, value), capsys)
        assert code == 2 and out == "", (path, param.name, err)
        error = json.loads(err)["error"]
        assert error["type"] == "UsageError", (path, param.name, error)
        assert "not a finite number" in error["message"] or value == "-inf", (path, param.name, error)


def _is_path(param: Any) -> bool:
    """Whether a parameter's value is a path: Click's path type, or our parser named ``path``, on any Typer release."""
    click_type = getattr(param, "type", None)
    if click_type is not None:
        return getattr(click_type, "name", "") == "path" or any(cls.__name__ == "Path" for cls in type(click_type).__mro__)
    annotation = param.get_runtime_param().annotation  # Typer 0.26 and later: its own parameters
    return any(isinstance(kind, type) and issubclass(kind, PurePath) for kind in {annotation, *get_args(annotation)})


def _path_params() -> list[tuple[list[str], list[str], Any]]:
    """(argv path, values of the arguments before it, parameter) of every path argument and option."""
    found = []
    for path, command in _real_commands():
        before: list[str] = []
        for param in command.params:
            if _is_path(param):
                found.append((path, list(before) if not param.opts[0].startswith("-") else [], param))
            if not param.opts[0].startswith("-"):
                before.append("1" if _numeric(param) == "int" else ".")
    return found


def test_every_path_parameter_refuses_an_empty_string(capsys: pytest.CaptureFixture[str]) -> None:
    """'' would be Path('.'): every path argument and option refuses it before anything runs (exit 2, one line)."""
    paths = _path_params()
    names = {(" ".join(path), param.name) for path, _, param in paths}
    assert {("send-result", "result_dir"), ("create-task", "asset_dir"), ("split init-bundle", "out_dir"),
            ("split prepare-data", "out_dir"), ("", "config"), ("devnode", "base_path"),
            ("assign-task", "work_dir"), ("show-result", "download"), ("federate", "output")} <= names
    assert len(paths) >= 45
    for path, before, param in paths:
        option = max(param.opts, key=len)
        given = [f"{option}="] if option.startswith("-") else [*before, ""]
        code, out, err = _run(["--json", *path, *given], capsys)
        assert code == 2 and out == "" and len(err.splitlines()) == 1, (path, param.name, err)
        error = json.loads(err)["error"]
        assert error["type"] == "UsageError", (path, param.name, error)
        assert "an empty string is not a path" in error["message"], (path, param.name, error)
        label = option if option.startswith("-") else param.name.upper()  # Typer 0.29 names an argument in lower case
        assert label.lower() in error["message"].lower(), (path, param.name, error)


@pytest.mark.parametrize("argv", [["send-result", "3", "FILE"], ["create-task", "FILE", "--question", "q", "--reward", "1"]])
def test_a_result_or_asset_directory_that_is_a_file_is_refused(argv: list[str], tmp_path: Any,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """send-result and create-task both upload a directory: a regular file is a usage error before anything connects."""
    file = tmp_path / "result.bin"
    file.write_bytes(b"x")
    code, out, err = _run(["--json", "--url", "ws://127.0.0.1:1", "--suri", "//Alice",
                           *[str(file) if arg == "FILE" else arg for arg in argv]], capsys)
    assert code == 2 and out == "", err
    assert json.loads(err)["error"]["message"] == f"{file} is not a directory."


@pytest.mark.parametrize(("kind", "value"), [
    *[("int", v) for v in ["\uff15", "\u0661\u0660", "1_0", "\u0969", " 5x", ""]],
    *[("float", v) for v in ["\uff15", "\u0663\u0660", "1_0", "\u0661e3", "5x", ""]],
])
def test_every_number_parameter_reads_ascii_digits_only(kind: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Python's int() and float() read other scripts' digits and underscores; a command reads 0-9 (and a sign) only."""
    expected = "is not a whole number (digits 0-9)" if kind == "int" else "is not a number (digits 0-9)"
    for path, param in _params(kind):
        code, out, err = _run(_argv(path, param, value), capsys)
        assert code == 2 and out == "", (path, param.name, err)
        error = json.loads(err)["error"]
        assert error["type"] == "UsageError" and expected in error["message"], (path, param.name, error)


SANDBOX_SIZES = [str(2**63), str(2**64 - 1), str(2**64), "99999999999999999999999GiB", "0"]


@pytest.mark.parametrize("size", SANDBOX_SIZES)
@pytest.mark.parametrize("command", [["run-task", "1", "-y"], ["contributor", "run", "--shard", "0", "--yes"], ["split", "contribute", "0", "--data", "DATA", "--yes"]])
@pytest.mark.parametrize("option", ["--memory", "--max-output"])
def test_sandbox_sizes_beyond_setrlimit_are_usage_errors(command: list[str], option: str, size: str,
                                                         capsys: pytest.CaptureFixture[str], tmp_path: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECENTRALML_WORK_DIR", str(tmp_path))
    command = [str(tmp_path) if arg == "DATA" else arg for arg in command]
    code, out, err = _run(["--json", "--suri", "//Alice", *command, option, size], capsys)
    error = json.loads(err)["error"]
    assert code == 2 and out == "" and error["type"] == "UsageError", err
    assert f"{option} {size} is not in the range 1..{2**63 - 1} bytes." in error["message"]


@pytest.mark.parametrize("argv", [
    ["validate-result", "0", "--passed", "--failed"],
    ["validate-result", "0", "--failed", "--passed"],
    ["run-task", "0", "--task-dir", "x", "--work-dir", "y"],
])
def test_alternative_options_together_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["--json", "--suri", "//Alice", "--url", "ws://127.0.0.1:1", *argv], capsys)
    error = json.loads(err)["error"]
    assert code == 2 and out == "" and error["type"] == "UsageError" and "are alternatives" in error["message"], err
