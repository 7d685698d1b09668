"""send-result, list-results, show-result, validate/accept/reject-result against the shared dev node; the tests
of the chain lifecycle (``on_both_chains``) also against chopsticks running the WebAssembly runtime."""

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from decentralml.errors import TransactionError
from tests.cli.conftest import UNIT, NodeCli, assign, create
from tests.cli.faults import fail_next_submission
from tests.fixtures.chains import on_both_chains

pytestmark = pytest.mark.integration


def _assigned(cli: NodeCli, creator: Any, worker: Any, assets: Path, *extra: str) -> tuple[int, int]:
    """A new task by ``creator`` and a submission of ``worker`` on it: (task id, submission id)."""
    task_id = create(cli, assets, creator.suri, *extra)
    return task_id, int(assign(cli, task_id, worker.suri)["submission_id"])


@on_both_chains
def test_send_result_records_uri_digest_and_metrics(
    node_cli: NodeCli, funded_account: Any, assets: Path, result_dir: Path
) -> None:
    worker = funded_account()
    _, sid = _assigned(node_cli, funded_account(), worker, assets)
    result = node_cli("--suri", worker.suri, "send-result", sid, result_dir)
    assert result.exit_code == 0, result.stderr
    sub = node_cli.submission(sid)
    assert sub.status.value == "PendingValidation"
    assert sub.result is not None and result.stdout.strip() == sub.result.uri
    assert json.loads(sub.inline_result) == {"metrics": {"accuracy": 0.91, "loss": 0.3}}
    assert sub.lineage_digest is None


def test_send_result_json_shape_and_metrics_option(
    node_cli: NodeCli, funded_account: Any, assets: Path, result_dir: Path, tmp_path: Path
) -> None:
    worker = funded_account()
    _, sid = _assigned(node_cli, funded_account(), worker, assets)
    metrics = tmp_path / "m.json"
    metrics.write_text('{"f1": 0.5}')
    data = node_cli.json("--suri", worker.suri, "send-result", sid, result_dir, "--metrics", metrics)
    assert set(data) == {"task_id", "submission_id", "result", "inline_result", "lineage_digest", "accepted", "reward",
                         "transaction"}
    assert json.loads(data["inline_result"]) == {"metrics": {"f1": 0.5}}
    assert data["accepted"] is False and data["reward"] is None


@on_both_chains
def test_send_result_under_auto_accept_pays_at_once(
    node_cli: NodeCli, funded_account: Any, assets: Path, result_dir: Path
) -> None:
    worker = funded_account(10 * UNIT)
    task_id = create(node_cli, assets, funded_account().suri, "--validation", "auto")
    assigned = assign(node_cli, task_id, worker.suri)
    data = node_cli.json("--suri", worker.suri, "send-result", assigned["submission_id"], result_dir)
    assert data["accepted"] is True and data["reward"]["formatted"] == "2 UNIT"
    fees = int(assigned["transaction"]["fee"]) + int(data["transaction"]["fee"])
    assert node_cli.free(worker.address) == 12 * UNIT - fees


@on_both_chains
def test_send_result_errors(
    node_cli: NodeCli, funded_account: Any, assets: Path, result_dir: Path, tmp_path: Path
) -> None:
    worker, other = funded_account(), funded_account()
    _, sid = _assigned(node_cli, funded_account(), worker, assets)
    wrong = node_cli("--suri", other.suri, "send-result", sid, result_dir)
    assert wrong.exit_code == 9 and f"assigned to {worker.address}" in wrong.stderr
    assert node_cli("--suri", worker.suri, "send-result", "999999999", result_dir).exit_code == 8
    missing = node_cli("--suri", worker.suri, "send-result", sid, tmp_path / "nothing")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    (result_dir / "metrics.json").write_text("[1, 2")
    bad_metrics = node_cli("--suri", worker.suri, "send-result", sid, result_dir)
    assert bad_metrics.exit_code == 2 and "not valid JSON" in bad_metrics.stderr
    (result_dir / "metrics.json").write_text(json.dumps({"k" * 5000: 1}))
    big = node_cli("--suri", worker.suri, "send-result", sid, result_dir)
    assert big.exit_code == 2 and "4096" in big.stderr
    assert node_cli.submission(sid).status.value == "Assigned"


@on_both_chains
def test_send_result_after_deadline(node_cli: NodeCli, funded_account: Any, assets: Path, result_dir: Path) -> None:
    worker = funded_account()
    _, sid = _assigned(node_cli, funded_account(), worker, assets, "--assignment-deadline", "3")
    node_cli.new_blocks(max(0, node_cli.submission(sid).deadline - node_cli.block_number()))
    late = node_cli("--suri", worker.suri, "send-result", sid, result_dir)
    assert late.exit_code == 7 and "deadline" in late.stderr


def test_send_result_failure_says_where_the_upload_is(
    node_cli: NodeCli, funded_account: Any, assets: Path, result_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = funded_account()
    _, sid = _assigned(node_cli, funded_account(), worker, assets)
    attempted = fail_next_submission(monkeypatch, TransactionError("The node dropped the transaction."))
    result = node_cli("--suri", worker.suri, "send-result", sid, result_dir)
    assert result.exit_code == 6
    assert "Nothing on chain points at the upload file://" in result.stderr
    assert attempted == ["send_task_result"] and node_cli.submission(sid).status.value == "Assigned"


@on_both_chains
def test_list_and_show_results(node_cli: NodeCli, funded_account: Any, assets: Path, result_dir: Path) -> None:
    first, second = funded_account(), funded_account()
    task_id, sid = _assigned(node_cli, funded_account(), first, assets, "--max-assignments", "2")
    node_cli.json("--suri", first.suri, "send-result", sid, result_dir)
    other = int(assign(node_cli, task_id, second.suri)["submission_id"])
    listed = node_cli.json("list-results", task_id)
    assert [(s["submission_id"], s["status"], s["worker"]) for s in listed] == [
        (sid, "PendingValidation", first.address), (other, "Assigned", second.address)
    ]
    table = node_cli("list-results", task_id)
    assert table.exit_code == 0
    rows = [line.split("│")[1:4] for line in table.stdout.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row] for row in rows] == [
        [str(sid), str(task_id), first.address[:13] + "…"], [str(other), str(task_id), second.address[:13] + "…"]
    ]
    assert [s["submission_id"] for s in node_cli.json("list-results", task_id, "--pending")] == [sid]
    assert [s["submission_id"] for s in node_cli.json("--suri", second.suri, "list-results", "--mine")] == [other]
    assert node_cli("list-results").exit_code == 2
    assert node_cli("list-results", "999999999").exit_code == 8
    shown = node_cli.json("show-result", sid)
    assert shown["metrics"] == {"accuracy": 0.91, "loss": 0.3}
    assert shown["lineage"] is None and shown["downloaded_to"] is None
    assert set(shown["result"]) == {"storage", "uri", "digest", "size"}
    assert "metric accuracy" in node_cli("show-result", sid).stdout


def test_show_result_download_verifies(node_cli: NodeCli, funded_account: Any, assets: Path, result_dir: Path) -> None:
    worker = funded_account()
    _, sid = _assigned(node_cli, funded_account(), worker, assets)
    node_cli.json("--suri", worker.suri, "send-result", sid, result_dir)
    dest = node_cli.tmp / "fetched"
    data = node_cli.json("show-result", sid, "--download", dest)
    assert data["downloaded_to"] == str(dest)
    assert (dest / "weights.bin").read_bytes() == (result_dir / "weights.bin").read_bytes()
    stored = Path(node_cli.submission(sid).result.uri.removeprefix("file://"))
    (stored / "weights.bin").write_bytes(b"tampered")
    tampered = node_cli("show-result", sid, "--download", node_cli.tmp / "again")
    assert tampered.exit_code == 14 and not (node_cli.tmp / "again").exists()
    assert node_cli("show-result", "999999999").exit_code == 8


def test_show_result_without_result(node_cli: NodeCli, funded_account: Any, assets: Path) -> None:
    _, sid = _assigned(node_cli, funded_account(), funded_account(), assets)
    assert node_cli.json("show-result", sid)["result"] is None
    no_result = node_cli("show-result", sid, "--download", node_cli.tmp / "x")
    assert no_result.exit_code == 2 and "no result yet" in no_result.stderr


@on_both_chains
def test_validate_accept_reject(node_cli: NodeCli, funded_account: Any, assets: Path, result_dir: Path) -> None:
    creator, worker, second_worker = funded_account(), funded_account(10 * UNIT), funded_account()
    task_id = create(node_cli, assets, creator.suri, "--max-assignments", "2")
    assigned = assign(node_cli, task_id, worker.suri)
    sid = int(assigned["submission_id"])
    sent = node_cli.json("--suri", worker.suri, "send-result", sid, result_dir)
    not_creator = node_cli("--suri", worker.suri, "accept-result", sid)
    assert not_creator.exit_code == 9 and "Only the creator" in not_creator.stderr
    validated = node_cli.json("--suri", creator.suri, "validate-result", sid, "--score", "9100")
    assert validated["action"] == "validated"
    assert node_cli.submission(sid).validation.score == 9100
    assert node_cli("--suri", creator.suri, "validate-result", sid, "--score", "10001").exit_code == 2
    accepted = node_cli.json("--suri", creator.suri, "accept-result", sid)
    assert set(accepted) == {"action", "task_id", "submission_id", "reward", "task_completed", "transaction"}
    assert accepted["reward"]["formatted"] == "2 UNIT" and accepted["task_completed"] is False
    fees = int(assigned["transaction"]["fee"]) + int(sent["transaction"]["fee"])
    assert node_cli.free(worker.address) == 12 * UNIT - fees
    second = int(assign(node_cli, task_id, second_worker.suri)["submission_id"])
    node_cli.json("--suri", second_worker.suri, "send-result", second, result_dir)
    rejected = node_cli("--suri", creator.suri, "reject-result", second)
    assert rejected.exit_code == 0 and "slot is free again" in rejected.stderr
    assert node_cli.submission(second).status.value == "Rejected"
    assert node_cli("--suri", creator.suri, "accept-result", "999999999").exit_code == 8
    before = node_cli.free(creator.address)
    for command, sub, name in (("accept-result", sid, "NotAwaitingDecision"), ("reject-result", sid, "NotAwaitingDecision"),
                               ("accept-result", second, "NotAwaitingDecision"),
                               ("validate-result", sid, "NotPendingValidation")):
        again = node_cli("--json", "--suri", creator.suri, command, sub)
        error = json.loads(again.stderr)["error"]
        assert again.exit_code == 7 and (error["type"], error["name"]) == ("PreconditionError", name), again.stderr
    resend = node_cli("--json", "--suri", worker.suri, "send-result", sid, result_dir)
    assert resend.exit_code == 7 and json.loads(resend.stderr)["error"]["name"] == "NotAwaitingResult"
    assert node_cli.free(creator.address) == before  # refused before submitting: no fee


@on_both_chains
def test_completion_is_reported(node_cli: NodeCli, funded_account: Any, assets: Path, result_dir: Path) -> None:
    creator, worker = funded_account(), funded_account()
    task_id, sid = _assigned(node_cli, creator, worker, assets)
    node_cli.json("--suri", worker.suri, "send-result", sid, result_dir)
    result = node_cli("--suri", creator.suri, "accept-result", sid)
    assert result.exit_code == 0 and f"Task {task_id} is now completed." in result.stderr
    task = node_cli.task(task_id)
    assert task.status.value == "Completed" and task.creator == creator.address


def _signed_lineage(result_dir: Path, task_id: int, sid: int, suri: str, code_hash: str = "33" * 32) -> bytes:
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


@on_both_chains
def test_lineage_is_sent_and_verified(
    node_cli: NodeCli, funded_account: Any, assets: Path, result_dir: Path, tmp_path: Path
) -> None:
    worker = funded_account()
    task_id, sid = _assigned(node_cli, funded_account(), worker, assets)
    lineage = tmp_path / "lineage.json"
    code_hash = node_cli.task(task_id).assets.bundle.digest_hex
    lineage.write_bytes(_signed_lineage(result_dir, task_id, sid, worker.suri, code_hash=code_hash))
    sent = node_cli.json("--suri", worker.suri, "send-result", sid, result_dir, "--lineage", lineage)
    assert sent["lineage_digest"].startswith("0x")
    inline = json.loads(sent["inline_result"])
    assert set(inline) == {"lineage", "metrics"} and inline["metrics"]["accuracy"] == 0.91
    shown = node_cli.json("show-result", sid, "--download", node_cli.tmp / "fetched")
    assert shown["lineage"]["digest"] == sent["lineage_digest"].removeprefix("0x")
    assert "signature" in shown["lineage"]["verified"] and shown["metrics"]["accuracy"] == 0.91
    assert "Lineage (verified)" in node_cli("show-result", sid).stdout
    assert {"code hash", "parents resolve"} <= set(shown["lineage"]["verified"])


def test_lineage_mismatches_are_integrity_errors(
    node_cli: NodeCli, funded_account: Any, assets: Path, result_dir: Path, tmp_path: Path
) -> None:
    worker = funded_account()
    task_id, sid = _assigned(node_cli, funded_account(), worker, assets)
    wrong_output = tmp_path / "wrong.json"
    wrong_output.write_bytes(_signed_lineage(tmp_path / "model_contributor", task_id, sid, worker.suri))
    refused = node_cli("--suri", worker.suri, "send-result", sid, result_dir, "--lineage", wrong_output)
    assert refused.exit_code == 14 and "nothing was uploaded" in refused.stderr
    store = node_cli.store_dir / "dirs"
    assert not store.exists() or len(list(store.iterdir())) == 1  # the assets only
    assert node_cli.submission(sid).status.value == "Assigned"
    by_someone_else = tmp_path / "someone-else.json"
    by_someone_else.write_bytes(_signed_lineage(result_dir, task_id, sid, "0x" + secrets.token_hex(32)))
    node_cli.json("--suri", worker.suri, "send-result", sid, result_dir, "--lineage", by_someone_else)
    shown = node_cli("show-result", sid)
    assert shown.exit_code == 14 and "not by the submission's worker" in shown.stderr


def _padded_result_of_small_base_model(
    cli: NodeCli, funded_account: Any, assets: Path, tmp_path: Path
) -> int:
    """A submission whose result pads a 20 kB base model's task with 20 MiB (the chain holds no sizes)."""
    model = tmp_path / "base.bin"
    model.write_bytes(b"\x01" * 20_000)
    worker = funded_account()
    task_id = create(cli, assets, funded_account().suri, "--base-model", str(model))
    sid = int(assign(cli, task_id, worker.suri)["submission_id"])
    padded = tmp_path / "padded"
    padded.mkdir()
    with (padded / "pad.bin").open("wb") as pad:
        pad.truncate(20 << 20)
    (padded / "metrics.json").write_text('{"num_samples": 1}')
    cli.json("--suri", worker.suri, "send-result", str(sid), padded)
    return sid


def test_show_result_download_keeps_to_the_result_budget(
    node_cli: NodeCli, funded_account: Any, assets: Path, tmp_path: Path
) -> None:
    sid = _padded_result_of_small_base_model(node_cli, funded_account, assets, tmp_path)
    dest = tmp_path / "downloads" / "result"
    refused = node_cli("show-result", str(sid), "--download", dest)
    assert refused.exit_code == 14 and "Refusing" in refused.stderr, refused.stderr
    assert not dest.exists() and list(dest.parent.iterdir()) == []
    allowed = node_cli.json("show-result", str(sid), "--download", dest, "--max-download-bytes", str(32 << 20))
    assert allowed["downloaded_to"] == str(dest) and (dest / "pad.bin").stat().st_size == 20 << 20
