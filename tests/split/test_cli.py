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


def test_verify_command_checks_record_and_artifact(tmp_path):
    from substrateinterface import Keypair

    from decentralml.lineage import LineageRecord, sha256_bytes, sign_record, signer_of
    from decentralml.primitives.digests import path_digest

    artifact = tmp_path / "model"
    artifact.mkdir()
    (artifact / "weights.safetensors").write_bytes(b"weights")
    key = Keypair.create_from_uri("//Eve")
    signer, scheme = signer_of(key)
    record = LineageRecord(task_id=1, submission_id=None, step="split-initiator", framework="torch",
                           input_hash=sha256_bytes(b"i"), params_hash=sha256_bytes(b"p"), code_hash=sha256_bytes(b"c"),
                           output_hash=path_digest(artifact)[0].hex(), started_at_ms=1, finished_at_ms=2, signer=signer, scheme=scheme)
    signed = sign_record(record, key)
    path = tmp_path / "lineage.json"
    path.write_bytes(signed.to_json())

    ok = CliRunner().invoke(app, ["--json", "split", "verify", str(path), "--output", str(artifact),
                                  "--digest", "0x" + signed.digest.hex(), "--signer", key.ss58_address])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["verified"] == ["signature", "on-chain digest", "signer is worker", "output artifact"]

    (artifact / "weights.safetensors").write_bytes(b"weightz")
    bad = CliRunner().invoke(app, ["split", "verify", str(path), "--output", str(artifact)])
    assert bad.exit_code == 14 and "tampered" in bad.output

    path.write_bytes(signed.to_json().replace(b'"step":"split-initiator"', b'"step":"split-participant"'))
    forged = CliRunner().invoke(app, ["split", "verify", str(path)])
    assert forged.exit_code == 14 and "signature does not match" in forged.output


def test_aggregate_unknown_strategy_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["split", "aggregate", "1", "--data", str(tmp_path / "x.csv"),
                                      "--output", str(tmp_path / "o"), "--strategy", "mode"])
    assert result.exit_code == 2 and "Unknown strategy 'mode'" in result.output
