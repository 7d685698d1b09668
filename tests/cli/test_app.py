"""The root app: global options, config file, the top-level error handler."""

import json
from pathlib import Path
from typing import Any

import pytest

from decentralml.cli import app as app_module
from decentralml.errors import TrainingError
from tests.cli.conftest import ALICE, Cli, NodeCli
from tests.cli.faults import fail_reads


def test_help_lists_every_command(cli: Cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for name in ("create-task", "list-tasks", "show-task", "assign-task", "send-result", "list-results",
                 "show-result", "validate-result", "accept-result", "reject-result", "close-task",
                 "balance", "transfer", "account"):
        assert name in result.stdout


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.startswith("decentralml ")


def test_signing_without_signer_is_a_config_error(cli: Cli) -> None:
    result = cli("close-task", "1")
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        "Error: No signer: this command signs a transaction. Pass --suri (or DECENTRALML_SURI) or --account NAME"
        " (see `decentralml account new`)."
    )
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(("args", "needed_for"), [
    (("balance",), "balance needs an ADDRESS or an account to show"),
    (("list-results", "--mine"), "--mine needs the account whose results to list"),
    (("list-tasks", "--mine"), "--mine needs the account whose tasks to list"),
])
def test_reading_an_account_without_one_says_what_it_needs(cli: Cli, args: tuple[str, ...], needed_for: str) -> None:
    result = cli(*args)
    assert result.exit_code == 3 and "signs a transaction" not in result.stderr
    assert result.stderr.startswith(f"Error: No account: {needed_for}. Pass --suri"), result.stderr


def test_unreachable_node(isolated_env: Path) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app_module.app, ["--url", "ws://127.0.0.1:1", "show-task", "1"])
    assert result.exit_code == 5
    assert result.stderr.strip() == (
        "Error: No DecentralML node answers at ws://127.0.0.1:1: start one with `decentralml devnode` or pass --url."
    )


def test_url_from_env_and_config(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    (isolated_env / "config.toml").write_text('url = "ws://127.0.0.1:2"\n')
    result = CliRunner().invoke(app_module.app, ["show-task", "1"])
    assert "ws://127.0.0.1:2" in result.stderr
    monkeypatch.setenv("DECENTRALML_URL", "ws://127.0.0.1:3")
    assert "ws://127.0.0.1:3" in CliRunner().invoke(app_module.app, ["show-task", "1"]).stderr
    assert "ws://127.0.0.1:4" in CliRunner().invoke(app_module.app, ["--url", "ws://127.0.0.1:4", "show-task", "1"]).stderr


def test_bad_config_file(isolated_env: Path) -> None:
    from typer.testing import CliRunner

    (isolated_env / "config.toml").write_text("url = \n")
    result = CliRunner().invoke(app_module.app, ["show-task", "1"])
    assert result.exit_code == 3 and "not valid TOML" in result.stderr


@pytest.mark.integration
def test_error_classes_and_debug(node_cli: NodeCli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = node_cli
    fail_reads(monkeypatch, TrainingError("Training diverged.", hint="Lower the learning rate."))
    result = cli("show-task", "1")
    assert result.exit_code == 15
    assert result.stderr == "Error: Training diverged. Lower the learning rate.\n"
    debug = cli("--debug", "show-task", "1")
    assert debug.exit_code == 15 and "Traceback" in debug.stderr


@pytest.mark.integration
def test_unexpected_exception_exits_1_with_hint(node_cli: NodeCli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = node_cli
    fail_reads(monkeypatch, RuntimeError("kaput"))
    result = cli("show-task", "1")
    assert result.exit_code == 1
    assert result.stderr == "Error: Unexpected RuntimeError: kaput. Rerun with --debug for the traceback.\n"


@pytest.mark.integration
def test_keyboard_interrupt_exits_130(node_cli: NodeCli, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_reads(monkeypatch, KeyboardInterrupt())
    assert node_cli("show-task", "1").exit_code == 130


def test_main_entry_point_exit_code(isolated_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="5") as info:
        app_module.main(["--url", "ws://127.0.0.1:1", "balance", ALICE])
    assert info.value.code == 5
    assert "No DecentralML node answers" in capsys.readouterr().err


def test_settings_precedence_and_timeout(isolated_env: Path) -> None:
    from decentralml.config import build_settings

    (isolated_env / "config.toml").write_text('url = "ws://cfg:1"\ntimeout = 5\naccount = "me"\n[storage]\nbackend = "s3"\n')
    base = dict(suri=None, crypto=None, json_output=False, debug=False, quiet=False,
                config_path=isolated_env / "config.toml", environ={"DECENTRALML_PASSWORD": "pw"})
    s = build_settings(url=None, account=None, **base)
    assert (s.url, s.timeout, s.account, s.password, s.storage["backend"]) == ("ws://cfg:1", 5.0, "me", "pw", "s3")
    s = build_settings(url="ws://cli:2", account="other", timeout=7, **base)
    assert (s.url, s.timeout, s.account) == ("ws://cli:2", 7.0, "other")
    assert "pw" not in repr(s)
    from decentralml.errors import ConfigError

    with pytest.raises(ConfigError, match="rsa"):
        build_settings(url=None, account=None, **{**base, "crypto": "rsa"})


@pytest.mark.integration
def test_json_and_quiet_from_env(node_cli: NodeCli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = node_cli

    monkeypatch.setenv("DECENTRALML_JSON", "1")
    assert json.loads(cli("balance", ALICE).stdout)["address"] == ALICE
    monkeypatch.setenv("DECENTRALML_JSON", "false")
    assert "Balance" in cli("balance", ALICE).stdout


@pytest.mark.integration
def test_errors_under_json_are_one_json_line_on_stderr(node_cli: NodeCli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = node_cli
    fail_reads(monkeypatch, TrainingError("Training diverged.", hint="Lower the learning rate."))
    result = cli("--json", "show-task", "1")
    assert result.exit_code == 15 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert json.loads(result.stderr) == {"error": {
        "type": "TrainingError", "message": "Training diverged.", "hint": "Lower the learning rate.", "exit_code": 15,
    }}
    no_signer = cli("--json", "close-task", "1")
    assert no_signer.exit_code == 3
    assert json.loads(no_signer.stderr)["error"]["type"] == "ConfigError"


def test_config_error_in_root_callback_under_json(isolated_env: Path) -> None:
    from typer.testing import CliRunner

    (isolated_env / "config.toml").write_text("url = \n")
    result = CliRunner().invoke(app_module.app, ["--json", "show-task", "1"])
    assert result.exit_code == 3
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "ConfigError" and "not valid TOML" in error["message"]


@pytest.mark.parametrize("name", sorted(app_module.LAZY_COMMANDS))
def test_lazy_command_list_matches_the_commands(cli: Cli, name: str) -> None:
    """Each line of the command list is the first sentence of the real command's own help."""
    short_help = app_module.LAZY_COMMANDS[name][1]
    result = cli(name, "--help")
    assert result.exit_code == 0, result.stderr
    assert f"Usage: decentralml {name} " in " ".join(result.stdout.split())
    assert short_help in " ".join(result.stdout.split()), (name, result.stdout)


ADDRESS = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"


@pytest.mark.parametrize("args", [
    ["balance", "-h"],  # a short help option of the real command
    ["run-task", "-y", "7", "--epochs", "3", "--", "--lr", "0.1"],  # options first, a separator after a positional
    ["list-tasks", "-x"],  # an option the real command refuses
    ["show-task", "--", "-1"],  # `--` first
    ["run-task", "-y", "--", "5"],  # `--` after options only
    ["transfer", ADDRESS, "--", "-1"],  # `--` after a positional
    ["run-task", "--", "5", "--", "--lr"],  # `--` twice
    ["show-task", "-1"],  # a negative number without `--`
    ["split", "init-bundle", "--", "-out"],  # a group's subcommand
])
def test_the_real_command_parses_every_token_as_typed(args: list[str], isolated_env: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    real = app_module.real_command

    def spy(ctx: Any, name: str) -> Any:
        command = real(ctx, name)
        make_context = command.make_context

        def recording(info_name: str, tokens: list[str], *a: Any, **kw: Any) -> Any:
            seen.append([info_name, *tokens])
            return make_context(info_name, tokens, *a, **kw)

        command.make_context = recording
        return command

    monkeypatch.setattr(app_module, "real_command", spy)
    from typer.testing import CliRunner

    CliRunner().invoke(app_module.app, ["--url", "ws://127.0.0.1:1", *args])  # no node: only the tokens matter
    assert seen == [args]


def test_a_command_s_help_is_the_real_command_s(cli: Cli) -> None:
    result = cli("list-tasks", "--help")
    assert result.exit_code == 0 and "--offset" in result.stdout


def test_help_and_a_read_command_import_only_what_they_use() -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from decentralml.cli.app import main\n"
        "try:\n    main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\n"
        "heavy = ('decentralml.devnode', 'decentralml.storage.s3', 'torch', 'tensorflow',"
        " 'substrateinterface', 'rich.progress', 'decentralml.cli.split', 'decentralml.cli.federate',"
        " 'decentralml.sandbox', 'decentralml.lineage', 'decentralml.usecases.contributor',"
        " 'decentralml.usecases.creator', 'packaging')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    # the listings load their command module: no storage, sandbox, lineage or sending use case
    for args in (["--help"], ["balance", "--help"], ["list-results", "--help"], ["show-task", "--help"], ["list-tasks", "--help"]):
        done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120)
        assert done.stdout.strip().splitlines()[-1] == "[]", (args, done.stdout[-500:], done.stderr[-2000:])


def test_python_dash_m_runs_the_cli() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "decentralml", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("decentralml "), done.stderr


def test_a_command_module_that_cannot_be_imported_is_one_line(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str) -> Any:
        raise ModuleNotFoundError("No module named 'torch'")

    monkeypatch.setattr(app_module, "command_app", broken)
    result = cli("split", "init-bundle", "out")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == "Error: Unexpected ModuleNotFoundError: No module named 'torch'. Rerun with --debug for the traceback.\n"
    result = cli("--json", "split", "init-bundle", "out")
    (line,) = result.stderr.splitlines()
    assert result.exit_code == 1 and json.loads(line)["error"]["type"] == "UnexpectedError" and "ModuleNotFoundError" in json.loads(line)["error"]["message"]


def test_a_config_file_named_by_config_must_exist_one_from_the_environment_need_not(isolated_env: Path) -> None:
    from typer.testing import CliRunner

    missing = isolated_env / "nowhere" / "config.toml"
    result = CliRunner().invoke(app_module.app, ["--config", str(missing), "--url", "ws://127.0.0.1:1", "show-task", "1"])
    assert result.exit_code == 3 and f"The config file {missing} does not exist." in result.stderr
    # DECENTRALML_CONFIG (set by the fixture to a file not written yet) is an empty config: the node is tried
    result = CliRunner().invoke(app_module.app, ["--url", "ws://127.0.0.1:1", "show-task", "1"])
    assert result.exit_code == 5, result.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "0.05", "1e300", "86401", "86400.0000001", "true", '"\uff15"', '"30 s"'])
def test_a_timeout_in_the_config_file_outside_0_to_a_day_is_a_config_error(isolated_env: Path, value: str) -> None:
    """Out of range, not finite, a boolean, or text that is not a number in ASCII digits: exit 3."""
    from typer.testing import CliRunner

    (isolated_env / "config.toml").write_text(f"timeout = {value}\n")
    result = CliRunner().invoke(app_module.app, ["--url", "ws://127.0.0.1:1", "show-task", "1"])
    assert result.exit_code == 3 and ("from 0.1 to 86400" in result.stderr or "must be a number of seconds" in result.stderr), result.stderr


def test_a_timeout_in_the_config_file_may_be_a_number_in_a_string(isolated_env: Path) -> None:
    from typer.testing import CliRunner

    (isolated_env / "config.toml").write_text('timeout = " 30 "\n')
    result = CliRunner().invoke(app_module.app, ["--url", "ws://127.0.0.1:1", "show-task", "1"])
    assert result.exit_code == 5, result.stderr  # read as 30 s: on to the (absent) node
