"""The federate and evaluate-results commands: exit codes and one-line messages (no node needed)."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from decentralml.cli.app import app
from tests.fl.bundles import ASSETS

runner = CliRunner()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"ws://127.0.0.1:{s.getsockname()[1]}"


def test_commands_are_registered() -> None:
    for command in ("federate", "evaluate-results"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "--creator-bundle" in result.output


def test_missing_creator_bundle_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--url", closed_port_url(), "federate", "0", "--creator-bundle", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "does not exist" in result.output and "Traceback" not in result.output
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["--url", closed_port_url(), "federate", "0", "--creator-bundle", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "model_creator.py" in result.output


def test_unknown_strategy_and_unreachable_node() -> None:
    bundle = str(ASSETS / "model_creator")
    result = runner.invoke(app, ["federate", "0", "--creator-bundle", bundle, "--strategy", "mean"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["--url", closed_port_url(), "federate", "0", "--creator-bundle", bundle])
    assert result.exit_code == 5, result.output
    result = runner.invoke(app, ["--url", closed_port_url(), "--suri", "//Alice", "evaluate-results", "0", "--creator-bundle", bundle])
    assert result.exit_code == 5, result.output
