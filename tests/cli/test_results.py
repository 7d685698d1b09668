"""send-result, list-results, show-result, validate/accept/reject-result."""

import json
from dataclasses import replace
from pathlib import Path

from decentralml.errors import TransactionError
from tests.cli.conftest import ALICE, BOB, CHARLIE, UNIT, Cli, assign, create


def _assigned(cli: Cli, assets: Path, *extra: str) -> int:
    return int(assign(cli, create(cli, assets, *extra))["submission_id"])


def test_send_result_records_uri_digest_and_metrics(cli: Cli, assets: Path, result_dir: Path) -> None:
    sid = _assigned(cli, assets)
    result = cli("--suri", "//Bob", "send-result", str(sid), result_dir)
    assert result.exit_code == 0, result.stderr
    sub = cli.chain.submissions[sid]
    assert sub.status.value == "PendingValidation"
    assert sub.result is not None and result.stdout.strip() == sub.result.uri
    assert json.loads(sub.inline_result) == {"metrics": {"accuracy": 0.91, "loss": 0.3}}
    assert sub.lineage_digest is None


def test_send_result_json_shape_and_metrics_option(cli: Cli, assets: Path, result_dir: Path, tmp_path: Path) -> None:
    sid = _assigned(cli, assets)
    metrics = tmp_path / "m.json"
    metrics.write_text('{"f1": 0.5}')
    data = cli.json("--suri", "//Bob", "send-result", str(sid), result_dir, "--metrics", metrics)
    assert set(data) == {"task_id", "submission_id", "result", "inline_result", "lineage_digest", "accepted", "reward", "transaction"}
    assert json.loads(data["inline_result"]) == {"metrics": {"f1": 0.5}}
    assert data["accepted"] is False and data["reward"] is None


def test_send_result_under_auto_accept_pays_at_once(cli: Cli, assets: Path, result_dir: Path) -> None:
    sid = _assigned(cli, assets, "--validation", "auto")
    data = cli.json("--suri", "//Bob", "send-result", str(sid), result_dir)
    assert data["accepted"] is True and data["reward"]["formatted"] == "2 UNIT"
    assert cli.chain.balances[BOB] == 12 * UNIT


def test_send_result_errors(cli: Cli, assets: Path, result_dir: Path, tmp_path: Path) -> None:
    sid = _assigned(cli, assets)
    wrong = cli("--suri", "//Charlie", "send-result", str(sid), result_dir)
    assert wrong.exit_code == 9 and f"assigned to {BOB}" in wrong.stderr
    assert cli("--suri", "//Bob", "send-result", "99", result_dir).exit_code == 8
    missing = cli("--suri", "//Bob", "send-result", str(sid), tmp_path / "nothing")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    (result_dir / "metrics.json").write_text("[1, 2")
    bad_metrics = cli("--suri", "//Bob", "send-result", str(sid), result_dir)
    assert bad_metrics.exit_code == 2 and "not valid JSON" in bad_metrics.stderr
    (result_dir / "metrics.json").write_text(json.dumps({"k" * 5000: 1}))
    big = cli("--suri", "//Bob", "send-result", str(sid), result_dir)
    assert big.exit_code == 2 and "4096" in big.stderr
    assert cli.chain.submissions[sid].status.value == "Assigned"


def test_send_result_after_deadline(cli: Cli, assets: Path, result_dir: Path) -> None:
    sid = _assigned(cli, assets)
    cli.chain.block = cli.chain.submissions[sid].deadline
    late = cli("--suri", "//Bob", "send-result", str(sid), result_dir)
    assert late.exit_code == 7 and "deadline" in late.stderr


def test_send_result_failure_says_where_the_upload_is(cli: Cli, assets: Path, result_dir: Path) -> None:
    sid = _assigned(cli, assets)
    cli.chain.fail_next = TransactionError("The node dropped the transaction.")
    result = cli("--suri", "//Bob", "send-result", str(sid), result_dir)
    assert result.exit_code == 6
    assert "Nothing on chain points at the upload file://" in result.stderr


def test_list_and_show_results(cli: Cli, assets: Path, result_dir: Path) -> None:
    sid = _assigned(cli, assets, "--max-assignments", "2")
    cli.json("--suri", "//Bob", "send-result", str(sid), result_dir)
    assign(cli, 1, "//Charlie")
    listed = cli.json("list-results", "1")
    assert [(s["submission_id"], s["status"], s["worker"]) for s in listed] == [
        (1, "PendingValidation", BOB), (2, "Assigned", CHARLIE)
    ]
    assert [s["submission_id"] for s in cli.json("list-results", "1", "--pending")] == [1]
    assert [s["submission_id"] for s in cli.json("--suri", "//Charlie", "list-results", "--mine")] == [2]
    assert cli("list-results").exit_code == 2
    assert cli("list-results", "9").exit_code == 8
    shown = cli.json("show-result", str(sid))
    assert shown["metrics"] == {"accuracy": 0.91, "loss": 0.3}
    assert shown["lineage"] is None and shown["downloaded_to"] is None
    assert set(shown["result"]) == {"storage", "uri", "digest", "size"}
    assert "metric accuracy" in cli("show-result", str(sid)).stdout


def test_show_result_download_verifies(cli: Cli, assets: Path, result_dir: Path) -> None:
    sid = _assigned(cli, assets)
    cli.json("--suri", "//Bob", "send-result", str(sid), result_dir)
    dest = cli.tmp / "fetched"
    data = cli.json("show-result", str(sid), "--download", dest)
    assert data["downloaded_to"] == str(dest)
    assert (dest / "weights.bin").read_bytes() == (result_dir / "weights.bin").read_bytes()
    stored = Path(cli.chain.submissions[sid].result.uri.removeprefix("file://"))
    (stored / "weights.bin").write_bytes(b"tampered")
    tampered = cli("show-result", str(sid), "--download", cli.tmp / "again")
    assert tampered.exit_code == 14 and not (cli.tmp / "again").exists()
    assert cli("show-result", "77").exit_code == 8


def test_show_result_without_result(cli: Cli, assets: Path) -> None:
    sid = _assigned(cli, assets)
    assert cli.json("show-result", str(sid))["result"] is None
    no_result = cli("show-result", str(sid), "--download", cli.tmp / "x")
    assert no_result.exit_code == 2 and "no result yet" in no_result.stderr


def test_validate_accept_reject(cli: Cli, assets: Path, result_dir: Path) -> None:
    sid = _assigned(cli, assets, "--max-assignments", "2")
    cli.json("--suri", "//Bob", "send-result", str(sid), result_dir)
    not_creator = cli("--suri", "//Bob", "accept-result", str(sid))
    assert not_creator.exit_code == 9 and "Only the creator" in not_creator.stderr
    validated = cli.json("--suri", "//Alice", "validate-result", str(sid), "--score", "9100")
    assert validated["action"] == "validated"
    assert cli.chain.submissions[sid].validation.score == 9100
    assert cli("--suri", "//Alice", "validate-result", str(sid), "--score", "10001").exit_code == 2
    accepted = cli.json("--suri", "//Alice", "accept-result", str(sid))
    assert set(accepted) == {"action", "task_id", "submission_id", "reward", "task_completed", "transaction"}
    assert accepted["reward"]["formatted"] == "2 UNIT" and accepted["task_completed"] is False
    assert cli.chain.balances[BOB] == 12 * UNIT
    second = int(assign(cli, 1, "//Charlie")["submission_id"])
    cli.json("--suri", "//Charlie", "send-result", str(second), result_dir)
    rejected = cli("--suri", "//Alice", "reject-result", str(second))
    assert rejected.exit_code == 0 and "slot is free again" in rejected.stderr
    assert cli.chain.submissions[second].status.value == "Rejected"
    assert cli("--suri", "//Alice", "accept-result", "55").exit_code == 8


def test_completion_is_reported(cli: Cli, assets: Path, result_dir: Path) -> None:
    sid = _assigned(cli, assets)
    cli.json("--suri", "//Bob", "send-result", str(sid), result_dir)
    result = cli("--suri", "//Alice", "accept-result", str(sid))
    assert result.exit_code == 0 and "Task 1 is now completed." in result.stderr
    assert cli.chain.tasks[1].status.value == "Completed"
    assert ALICE == cli.chain.tasks[1].creator


def _signed_lineage(result_dir: Path, task_id: int, sid: int, suri: str = "//Bob", code_hash: str = "33" * 32) -> bytes:
    from decentralml.chain.signer import keypair_from_suri
    from decentralml.lineage import LineageRecord, sign_record, signer_of
    from decentralml.primitives.digests import pack_digest

    keypair = keypair_from_suri(suri)
    signer, scheme = signer_of(keypair)
    record = LineageRecord(
        task_id=task_id, submission_id=sid, step="train", framework="numpy",
        input_hash="11" * 32, params_hash="22" * 32, code_hash=code_hash,
        output_hash=pack_digest(result_dir)[0].hex(), started_at_ms=1, finished_at_ms=2,
        signer=signer, scheme=scheme,
    )
    return sign_record(record, keypair).to_json()


def test_lineage_is_sent_and_verified(cli: Cli, assets: Path, result_dir: Path, tmp_path: Path) -> None:
    sid = _assigned(cli, assets)
    lineage = tmp_path / "lineage.json"
    lineage.write_bytes(_signed_lineage(result_dir, 1, sid, code_hash=cli.chain.tasks[1].assets.bundle.digest_hex))
    sent = cli.json("--suri", "//Bob", "send-result", str(sid), result_dir, "--lineage", lineage)
    assert sent["lineage_digest"].startswith("0x")
    inline = json.loads(sent["inline_result"])
    assert set(inline) == {"lineage", "metrics"} and inline["metrics"]["accuracy"] == 0.91
    shown = cli.json("show-result", str(sid), "--download", cli.tmp / "fetched")
    assert shown["lineage"]["digest"] == sent["lineage_digest"].removeprefix("0x")
    assert "signature" in shown["lineage"]["verified"] and shown["metrics"]["accuracy"] == 0.91
    assert "Lineage (verified)" in cli("show-result", str(sid)).stdout
    assert {"code hash", "parents resolve"} <= set(shown["lineage"]["verified"])


def test_lineage_mismatches_are_integrity_errors(cli: Cli, assets: Path, result_dir: Path, tmp_path: Path) -> None:
    sid = _assigned(cli, assets)
    wrong_output = tmp_path / "wrong.json"
    wrong_output.write_bytes(_signed_lineage(tmp_path / "model_contributor", 1, sid))
    refused = cli("--suri", "//Bob", "send-result", str(sid), result_dir, "--lineage", wrong_output)
    assert refused.exit_code == 14 and "nothing was uploaded" in refused.stderr
    assert not (cli.store_dir / "dirs").exists() or len(list((cli.store_dir / "dirs").iterdir())) == 1  # the assets only
    assert cli.chain.submissions[sid].status.value == "Assigned"
    by_charlie = tmp_path / "charlie.json"
    by_charlie.write_bytes(_signed_lineage(result_dir, 1, sid, "//Charlie"))
    cli.json("--suri", "//Bob", "send-result", str(sid), result_dir, "--lineage", by_charlie)
    shown = cli("show-result", str(sid))
    assert shown.exit_code == 14 and "not by the submission's worker" in shown.stderr


def _padded_result_of_small_base_model(cli: Cli, assets: Path, tmp_path: Path) -> int:
    """A submission whose result pads a 20 kB base model's task with 20 MiB; sizes as the chain holds them (none)."""
    model = tmp_path / "base.bin"
    model.write_bytes(b"\x01" * 20_000)
    task_id = create(cli, assets, "--base-model", str(model))
    task = cli.chain.tasks[task_id]
    cli.chain.tasks[task_id] = replace(task, assets=replace(task.assets, base_model=replace(task.assets.base_model, size=None)))
    sid = int(assign(cli, task_id)["submission_id"])
    padded = tmp_path / "padded"
    padded.mkdir()
    with (padded / "pad.bin").open("wb") as pad:
        pad.truncate(20 << 20)
    (padded / "metrics.json").write_text('{"num_samples": 1}')
    cli.json("--suri", "//Bob", "send-result", str(sid), padded)
    return sid


def test_show_result_download_keeps_to_the_result_budget(cli: Cli, assets: Path, tmp_path: Path) -> None:
    sid = _padded_result_of_small_base_model(cli, assets, tmp_path)
    dest = tmp_path / "downloads" / "result"
    refused = cli("show-result", str(sid), "--download", dest)
    assert refused.exit_code == 14 and "Refusing" in refused.stderr, refused.stderr
    assert not dest.exists() and list(dest.parent.iterdir()) == []
    allowed = cli.json("show-result", str(sid), "--download", dest, "--max-download-bytes", str(32 << 20))
    assert allowed["downloaded_to"] == str(dest) and (dest / "pad.bin").stat().st_size == 20 << 20
