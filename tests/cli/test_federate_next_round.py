"""federate --next-round checks the signer, the next round's terms and the funds for its escrow
before anything is downloaded or written (a rerun needs no --force), on the shared dev node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from decentralml.chain.pallet import MAX_BLOCK_NUMBER
from tests.cli.conftest import UNIT, NodeCli, assign, create
from tests.fl.bundles import ASSETS


def _federate(cli: NodeCli, suri: str, task_id: int, target: Path, *extra: str) -> Any:
    return cli("--json", "--suri", suri, "federate", task_id, "--creator-bundle", ASSETS / "model_creator",
               "--work-dir", cli.tmp / "creator-work", "--output", target, "--next-round", *extra)


@pytest.mark.parametrize(("extra", "exit_code", "words"), [
    pytest.param(("--expires-in", str(MAX_BLOCK_NUMBER)), 2, "past the chain's last block", id="expiry-past-u32"),
    pytest.param(("--max-assignments", "1000"), 2, "--max-assignments must be between 1 and", id="slots-over-limit"),
    pytest.param(("--reward", "1planck"), 2, "below the chain's minimum", id="reward-below-minimum"),
    pytest.param(("--question", ""), 2, "question must not be empty", id="empty-question"),
    pytest.param(("--question", "   "), 2, "question must not be empty", id="blank-question"),
    pytest.param(("--expires-in", "5"), 2, "keeps task", id="expiry-before-the-kept-deadline"),
    pytest.param(("--reward", "1000000 UNIT"), 7, "Insufficient funds", id="escrow-not-covered"),
])
def test_next_round_terms_are_checked_before_anything_is_written(
    node_cli: NodeCli, funded_account: Any, assets: Path, tmp_path: Path, extra: tuple[str, ...], exit_code: int,
    words: str,
) -> None:
    creator = funded_account()
    task_id = create(node_cli, assets, creator.suri)
    target = tmp_path / "global.safetensors"
    before = node_cli.free(creator.address)
    result = _federate(node_cli, creator.suri, task_id, target, *extra)
    assert result.exit_code == exit_code and words in json.loads(result.stderr)["error"]["message"], result.stderr
    assert not target.exists() and not (node_cli.tmp / "creator-work").exists()
    assert node_cli.free(creator.address) == before and node_cli.task(task_id).status.value == "Open"


def test_next_round_signed_by_another_account_is_refused_first(
    node_cli: NodeCli, funded_account: Any, assets: Path, tmp_path: Path
) -> None:
    creator, other = funded_account(), funded_account()
    task_id = create(node_cli, assets, creator.suri)
    target = tmp_path / "global.safetensors"
    result = _federate(node_cli, other.suri, task_id, target)
    error = json.loads(result.stderr)["error"]
    assert result.exit_code == 9 and error["name"] == "NotTaskCreator" and "open the next round" in error["message"]
    assert not target.exists() and not (node_cli.tmp / "creator-work").exists()


def test_next_round_of_a_task_that_cannot_close_is_refused_first(
    node_cli: NodeCli, funded_account: Any, assets: Path, tmp_path: Path
) -> None:
    creator, worker = funded_account(), funded_account()
    task_id = create(node_cli, assets, creator.suri)
    assign(node_cli, task_id, worker.suri)
    target = tmp_path / "global.safetensors"
    result = _federate(node_cli, creator.suri, task_id, target)
    error = json.loads(result.stderr)["error"]
    assert result.exit_code == 7 and error["name"] == "AssignmentsInProgress", result.stderr
    assert not target.exists()


def test_good_terms_pass_the_checks(node_cli: NodeCli, funded_account: Any, assets: Path, tmp_path: Path) -> None:
    """The control: with valid terms the command gets past the checks to the round (here a task without a base model)."""
    creator = funded_account()
    task_id = create(node_cli, assets, creator.suri)
    target = tmp_path / "global.safetensors"
    result = _federate(node_cli, creator.suri, task_id, target, "--reward", f"{3 * UNIT}planck", "--expires-in", "500")
    assert result.exit_code == 2 and f"Task {task_id} has no base model" in result.stderr, result.stderr
    assert not target.exists()
