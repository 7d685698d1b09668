"""The federate and evaluate-results commands: exit codes and one-line messages (no node needed)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
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


def test_an_existing_global_model_is_replaced_only_with_force(tmp_path: Path) -> None:
    """Checked before anything is downloaded: without --force the node is not even contacted."""
    bundle = str(ASSETS / "model_creator")
    target = tmp_path / "global.safetensors"
    target.write_bytes(b"last round's model")
    args = ["--url", closed_port_url(), "federate", "0", "--creator-bundle", bundle, "--output", str(target)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "already exists" in result.output and "--force" in result.output
    assert runner.invoke(app, [*args, "--force"]).exit_code == 5  # past the check: no node answers
    assert target.read_bytes() == b"last round's model"
    (tmp_path / "file").write_text("x")
    assert runner.invoke(app, [*args[:-1], str(tmp_path / "file" / "global.safetensors")]).exit_code == 2


def test_save_weights_never_leaves_a_half_written_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    import safetensors.numpy

    from decentralml.fl.weights import save_weights

    target = tmp_path / "model.safetensors"
    target.write_bytes(b"previous")

    def full_disk(tensors, filename):
        Path(filename).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.numpy, "save_file", full_disk)
    with pytest.raises(OSError):
        save_weights(target, {"w": np.zeros(3, dtype=np.float32)})
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"] and target.read_bytes() == b"previous"
