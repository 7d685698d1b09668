"""`decentralml devnode` and `decentralml devnode purge`: exit codes and messages."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from decentralml.devnode.cli import app
from decentralml.devnode.store import ChainStore, chain_dir

runner = CliRunner()


def test_purge_deletes_chain_data_with_yes(tmp_path):
    ChainStore.open(tmp_path).close()
    assert chain_dir(tmp_path).exists()
    result = runner.invoke(app, ["purge", "--base-path", str(tmp_path), "--yes"])
    assert result.exit_code == 0, result.output
    assert not chain_dir(tmp_path).exists()
    again = runner.invoke(app, ["purge", "--base-path", str(tmp_path), "--yes"])
    assert again.exit_code == 0 and "No chain data" in again.output


def test_purge_asks_and_keeps_data_when_refused(tmp_path, monkeypatch):
    ChainStore.open(tmp_path).close()
    monkeypatch.setattr("decentralml.cli.prompts.has_terminal", lambda: True)
    result = runner.invoke(app, ["purge", "--base-path", str(tmp_path)], input="n\n")
    assert result.exit_code == 1
    assert chain_dir(tmp_path).exists()


def test_purge_without_a_terminal_and_without_yes_is_a_usage_error(tmp_path):
    ChainStore.open(tmp_path).close()
    result = runner.invoke(app, ["purge", "--base-path", str(tmp_path)], input="y\n")  # stdin not a terminal
    assert result.exit_code == 2 and "no terminal to ask" in result.output and "--yes" in result.output
    assert chain_dir(tmp_path).exists()


def test_tmp_and_base_path_exclude_each_other(tmp_path):
    result = runner.invoke(app, ["--tmp", "--base-path", str(tmp_path)])
    assert result.exit_code == 2
    assert "exclude each other" in result.output


@pytest.mark.integration
def test_port_in_use_is_a_one_line_error(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "decentralml.devnode", "--base-path", str(tmp_path), "--rpc-port", str(port)],
            capture_output=True, text=True, timeout=60,
        )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(f"Error: Cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in done.stderr


@pytest.mark.integration
def test_main_cli_registers_devnode():
    from decentralml.cli.app import app as main_app

    result = runner.invoke(main_app, ["devnode", "--help"])
    assert result.exit_code == 0
    assert "--block-time" in result.output and "purge" in result.output


@pytest.mark.integration
def test_tmp_chain_is_deleted_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "decentralml.devnode", "--tmp", "--rpc-port", "0"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    assert process.stderr is not None
    directory = None
    for line in process.stderr:
        match = re.search(r"chain data:\s+(\S+) \(temporary", line)
        if match:
            directory = match.group(1)
        if "Press Ctrl-C" in line:
            break
    assert directory is not None
    assert Path(directory).is_dir()
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert not Path(directory).exists()


def test_dev_methods_need_rpc_methods_unsafe_outside_tmp(tmp_path):
    from tests.fixtures.devnode import start_devnode

    node = start_devnode(tmp_path / "auto", "--rpc-methods", "auto")  # the last --rpc-methods wins
    try:
        with pytest.raises(RuntimeError, match="RPC call is unsafe to be called externally"):
            node.rpc("dev_newBlocks", [1])
        assert node.rpc("system_chain") == "Development"
    finally:
        node.stop()


def test_an_address_not_of_this_machine_names_rpc_host_not_rpc_port():
    result = runner.invoke(app, ["--tmp", "--rpc-host", "203.0.113.9", "--rpc-port", "0"])  # TEST-NET-3, unassigned
    assert result.exit_code == 2
    assert "Pass an address of this machine as --rpc-host" in result.output and "--rpc-port" not in result.output
