"""scripts/demo.py --json: one JSON object with the documented shape (starts its own dev node and the role processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.fl.bundles import ASSETS

pytestmark = [pytest.mark.integration, pytest.mark.ml, pytest.mark.slow]
UNIT = 10**12


def test_demo_json_two_rounds_with_a_poisoned_contribution() -> None:
    done = subprocess.run(
        [sys.executable, str(ASSETS.parent / "scripts" / "demo.py"), "--json", "--framework", "torch", "--rounds", "2"],
        capture_output=True, text=True, timeout=900, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)  # exactly one JSON document
    assert [r["round"] for r in summary["rounds"]] == [1, 2]
    assert summary["rounds"][0]["task_id"] != summary["rounds"][1]["task_id"]
    assert 0.0 <= summary["centralized_accuracy"] <= 1.0
    assert summary["stopped_because"] == "round limit reached: 2 of 2" and summary["report"].endswith("report.html")
    by_name: dict = {}
    for r in summary["rounds"]:
        for c in r["contributions"]:
            by_name.setdefault(c["name"], []).append(c["verdict"])
    assert by_name["Bob"] == by_name["Charlie"] == ["accepted", "accepted"]
    assert by_name["Dave"] and set(by_name["Dave"]) == {"rejected"}  # the poisoner, whenever it sent
    assert all(set(c) >= {"worker", "accuracy", "verdict"} for r in summary["rounds"] for c in r["contributions"])
    assert summary["rounds"][1]["global_accuracy"] > 0.8
    change = {b["name"]: int(b["after"]) - int(b["before"]) for b in summary["balances"].values()}
    accepted = {name: sum(c["verdict"] == "accepted" for r in summary["rounds"] for c in r["contributions"] if c["name"] == name)
                for name in ("Bob", "Charlie", "Dave")}
    # Reward per accepted result, minus fees. assign_task and close_task are charged for their
    # worst case (13.9e9 ref time, about 0.014 UNIT each, pallet-spec/README.md §8): a worker
    # assigns once per round, the creator closes each round's task: together well under 0.1 UNIT.
    fees = UNIT // 10
    for name, count in accepted.items():
        assert count * 10 * UNIT - fees < change[name] < count * 10 * UNIT
    assert -sum(accepted.values()) * 10 * UNIT - fees < change["Alice"] < -sum(accepted.values()) * 10 * UNIT
