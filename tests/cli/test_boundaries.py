"""Boundaries a wrong comparison would cross: free slots after accepted results, the validation threshold.

The slot counts are checked on the dev node and chopsticks (the pallet decides what is
free) and in ``Task.free_slots`` itself; the threshold with an evaluator that
returns exactly the accuracy under test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from decentralml.chain.types import Task, TaskAssets, TaskStatus, TaskType, ValidationStrategy
from decentralml.cli.app import app
from decentralml.fl.validation import Evaluation, validate_contribution
from decentralml.fl.weights import ContributionMetrics, save_weights, spec_of, write_result_dir
from decentralml.primitives.digests import file_digest
from decentralml.storage.reference import Reference, StorageType
from tests.fixtures.chains import on_both_chains


def _task(max_assignments: int, assigned: int, accepted: int) -> Task:
    bundle = Reference(StorageType.LOCAL, "file:///bundle/", b"\1" * 32)
    return Task(
        task_id=0, creator="creator", task_type=TaskType.MODEL_CONTRIBUTOR, question="q", pays_amount=1,
        max_assignments=max_assignments, validation_strategy=ValidationStrategy.MANUAL_ACCEPT, expiration_block=100,
        assignment_deadline=10, assets=TaskAssets(TaskType.MODEL_CONTRIBUTOR, bundle, None), status=TaskStatus.OPEN,
        created_at=1, assigned=assigned, accepted=accepted, paid=0,
    )


@pytest.mark.parametrize(
    ("max_assignments", "assigned", "accepted", "free"),
    [(2, 0, 0, 2), (2, 1, 0, 1), (2, 0, 1, 1), (2, 1, 1, 0), (2, 0, 2, 0), (3, 1, 1, 1)],
)
def test_free_slots_count_live_assignments_and_accepted_results(
    max_assignments: int, assigned: int, accepted: int, free: int
) -> None:
    assert _task(max_assignments, assigned, accepted).free_slots == free


def _cli(url: str, *args: Any) -> Any:
    result = CliRunner().invoke(app, ["--url", url, "--json", *map(str, args)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.integration
@on_both_chains
def test_an_accepted_result_keeps_its_slot_taken_on_the_chain(
    shared_chain: Any, funded_account: Any, isolated_env: Path, assets: Path, result_dir: Path
) -> None:
    url = shared_chain.url
    creator, first, second, third = (funded_account() for _ in range(4))
    task_id = _cli(url, "--suri", creator.suri, "create-task", assets, "--question", "two slots",
                   "--reward", "1 UNIT", "--max-assignments", "2", "--expires-in", "500")["task_id"]
    taken = _cli(url, "--suri", first.suri, "assign-task", task_id, "--work-dir", isolated_env / "w1")
    _cli(url, "--suri", first.suri, "send-result", taken["submission_id"], result_dir)
    _cli(url, "--suri", creator.suri, "accept-result", taken["submission_id"])
    shown = _cli(url, "show-task", task_id)
    assert (shown["assigned"], shown["accepted"], shown["free_slots"]) == (0, 1, 1)
    assert task_id in [t["task_id"] for t in _cli(url, "list-tasks")]

    _cli(url, "--suri", second.suri, "assign-task", task_id, "--work-dir", isolated_env / "w2")
    shown = _cli(url, "show-task", task_id)
    assert (shown["assigned"], shown["accepted"], shown["free_slots"]) == (1, 1, 0)
    assert task_id not in [t["task_id"] for t in _cli(url, "list-tasks")]
    full = CliRunner().invoke(app, ["--url", url, "--json", "--suri", third.suri, "assign-task", str(task_id),
                                    "--work-dir", str(isolated_env / "w3")], catch_exceptions=False)
    assert full.exit_code == 7, full.stderr
    assert (json.loads(full.stderr)["error"]["name"], json.loads(full.stderr)["error"]["type"]) == (
        "NoFreeSlot", "PreconditionError")  # found before sending: no fee
    assert not (isolated_env / "w3").exists() or not any((isolated_env / "w3").iterdir())


THRESHOLD = 0.8


def _validate(tmp_path: Path, accuracy: float) -> Any:
    base = {"w": np.zeros(3, np.float32)}
    save_weights(tmp_path / "base.safetensors", base)
    digest = file_digest(tmp_path / "base.safetensors")[0].hex()
    result = write_result_dir(tmp_path / "result", {"w": np.ones(3, np.float32)},
                              ContributionMetrics(10, 0.1, 0.9, "numpy", digest))
    return validate_contribution(
        result / "weights.safetensors", (result / "metrics.json").read_bytes(), base_spec=spec_of(base),
        base_digest=digest, evaluate=lambda weights: Evaluation(loss=0.0, accuracy=accuracy),
        threshold=THRESHOLD, framework="numpy",
    )


@pytest.mark.parametrize(
    ("accuracy", "passed"),
    [
        (THRESHOLD, True),
        (np.nextafter(THRESHOLD, 1.0), True),
        (THRESHOLD + 0.001, True),
        (np.nextafter(THRESHOLD, 0.0), False),
        (THRESHOLD - 0.001, False),
        (0.79995, False),  # rounds to 8000 basis points, still below the threshold
        (THRESHOLD - 0.5, False),
        (min(1.0, THRESHOLD + 0.5), True),
    ],
)
def test_the_validation_threshold_is_inclusive_and_exact(tmp_path: Path, accuracy: float, passed: bool) -> None:
    report = _validate(tmp_path, float(accuracy))
    assert report.passed is passed, report.reason
    assert ("below the threshold" in report.reason) is not passed
