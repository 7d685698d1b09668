"""`decentralml split` commands that need no chain: exit codes, outputs, files."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from decentralml.cli.app import app


def test_prepare_data_writes_shards(tmp_path):
    result = CliRunner().invoke(app, ["--json", "split", "prepare-data", str(tmp_path / "d"), "--participants", "3"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert len(body["participants"]) == 3
    header = (tmp_path / "d" / "participant1.csv").read_text().splitlines()[0].split(",")
    assert header[-1] == "target" and len(header) == 31


def test_prepare_data_is_deterministic(tmp_path):
    for name in ("a", "b"):
        assert CliRunner().invoke(app, ["split", "prepare-data", str(tmp_path / name), "--seed", "4"]).exit_code == 0
    assert (tmp_path / "a" / "participant2.csv").read_bytes() == (tmp_path / "b" / "participant2.csv").read_bytes()


@pytest.mark.ml
def test_init_bundle_writes_config_and_base_model(tmp_path):
    result = CliRunner().invoke(app, ["--json", "split", "init-bundle", str(tmp_path / "t"), "--protocol", "round-robin", "--cut", "4"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "t" / "bundle" / "config.json").read_text())
    assert config["protocol"] == "round_robin" and config["spec"]["cut"] == 4
    assert (tmp_path / "t" / "base_model.safetensors").stat().st_size > 0
    assert (tmp_path / "t" / "bundle" / "start_task.sh").is_file()


def test_init_bundle_bad_cut_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["split", "init-bundle", str(tmp_path / "t"), "--cut", "9"])
    assert result.exit_code == 2
    assert "Cut layer 9" in result.output
