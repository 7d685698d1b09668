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


def _tree(root):
    """Every path under ``root`` (hidden staging directories included), with file contents."""
    if not root.exists():
        return None
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def _usage_error(stderr):
    """A usage error: the use case's one JSON line, or (raised by the parser, outside main()) Typer's usage message."""
    if stderr.startswith("{"):
        (line,) = stderr.splitlines()
        return json.loads(line)["error"]["type"] == "UsageError"
    return stderr.startswith("Usage: decentralml split")


def _init_bundle(*args):
    return CliRunner().invoke(app, ["--json", "split", "init-bundle", *map(str, args)])


@pytest.mark.parametrize("option", [
    ["--seed", "99999999999999999999999"], ["--seed", "-1"],
    ["--lr", "nan"], ["--momentum", "nan"], ["--lr", "1e400"], ["--momentum", "1e400"], ["--lr", "inf"],
    ["--lr", "-0.1"], ["--lr", "11"], ["--momentum", "1"], ["--momentum", "abc"],
    ["--epochs", "99999999999999999999"], ["--batch-size", "0"], ["--cut", "99999999999999999999"],
])
def test_init_bundle_refuses_a_bad_argument_before_writing_anything(tmp_path, option):
    result = _init_bundle(tmp_path / "t", *option)
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert _usage_error(result.stderr)
    assert _tree(tmp_path) == {}, "nothing is written"


def test_init_bundle_into_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "file").write_text("mine")
    for out in (tmp_path / "file", tmp_path / "file" / "sub"):
        result = _init_bundle(out)
        assert result.exit_code == 2 and "is not a directory" in json.loads(result.stderr)["error"]["message"]
    assert _tree(tmp_path) == {"file": b"mine"}


@pytest.mark.parametrize("existing", ["base_model.safetensors", "bundle"])
def test_init_bundle_does_not_replace_an_output_without_force(tmp_path, existing):
    out = tmp_path / "t"
    out.mkdir()
    (out / existing).write_text("keep me")
    before = _tree(out)
    result = _init_bundle(out)
    assert result.exit_code == 2 and "--force" in result.stderr
    assert _tree(out) == before


@pytest.mark.ml
def test_init_bundle_force_replaces_both_outputs(tmp_path):
    out = tmp_path / "t"
    out.mkdir()
    (out / "base_model.safetensors").write_text("old")
    (out / "other").write_text("untouched")
    result = _init_bundle(out, "--force", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert (out / "base_model.safetensors").read_bytes() != b"old" and (out / "bundle" / "config.json").is_file()
    assert (out / "other").read_text() == "untouched"
    assert sorted(p.name for p in out.iterdir()) == ["base_model.safetensors", "bundle", "other"], "no staging left"


@pytest.mark.ml
def test_init_bundle_that_fails_midway_leaves_nothing(tmp_path, monkeypatch):
    """The checkpoint write fails after the bundle's files are written: none of them is visible."""
    from decentralml.usecases import split_learning

    def broken(config, path):
        path.write_bytes(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(split_learning, "write_base_model", broken)
    out = tmp_path / "t"
    result = _init_bundle(out)
    assert result.exit_code == 1 and "No space left" in result.stderr
    assert _tree(tmp_path) == {}
    out.mkdir()
    (out / "base_model.safetensors").write_text("old")
    assert _init_bundle(out, "--force").exit_code == 1
    assert _tree(out) == {"base_model.safetensors": b"old"}, "the replaced output is kept when the new one fails"


def test_prepare_data_refuses_to_overwrite_shards_without_force(tmp_path):
    out = tmp_path / "d"
    assert CliRunner().invoke(app, ["split", "prepare-data", str(out), "--seed", "1"]).exit_code == 0
    before = _tree(out)
    result = CliRunner().invoke(app, ["--json", "split", "prepare-data", str(out), "--seed", "2"])
    assert result.exit_code == 2 and "--force" in json.loads(result.stderr)["error"]["hint"]
    assert _tree(out) == before
    assert CliRunner().invoke(app, ["split", "prepare-data", str(out), "--seed", "2", "--force"]).exit_code == 0
    assert _tree(out) != before and sorted(_tree(out)) == sorted(before)


@pytest.mark.parametrize("option", [["--participants", "456"], ["--participants", "0"], ["--seed", str(2**32)]])
def test_prepare_data_refuses_a_bad_argument_before_writing_anything(tmp_path, option):
    result = CliRunner().invoke(app, ["--json", "split", "prepare-data", str(tmp_path / "d"), *option])
    assert result.exit_code == 2 and _usage_error(result.stderr), result.output
    assert _tree(tmp_path) == {}


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
