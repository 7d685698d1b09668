"""A federated round end to end through the CLI: on the dev node in each framework, and the ManualAccept
round (two contributors, one accepted and federated) on the dev node and on chopsticks.

Creator //Alice, contributors //Bob //Charlie //Dave (dev keys: tests only).
Dave sends a poisoned model: CustomAccept evaluation rejects it; Bob and
Charlie are paid exactly once; federate --next-round publishes the new model.
Every framework-loading step runs in its own process (TensorFlow and PyTorch
cannot share one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.fl.bundles import ASSETS, creator_bundle

pytestmark = [pytest.mark.integration, pytest.mark.ml]
ROOT = ASSETS.parent
REWARD = 10 * 10**12
WORKERS = ("Bob", "Charlie", "Dave")


def cli(node_url: str, suri: str, *args: str, check: bool = True) -> tuple[int, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "decentralml.cli.app", "--url", node_url, "--suri", suri, "--json", *args],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    if check:
        assert done.returncode == 0, f"{args[0]} failed ({done.returncode}): {done.stderr[-3000:]}"
    return done.returncode, (json.loads(done.stdout) if done.returncode == 0 else done.stderr)


def fee(payload: dict[str, Any]) -> int:
    return int(payload["transaction"]["fee"])


def open_round(node_url: str, tmp_path: Path, framework: str, validation: str, slots: int) -> tuple[Path, dict[str, Any], list[str], int]:
    """The creator's round 0 (initial model and contributor bundle) posted as a task; returns
    (creator bundle dir, round-0 summary, storage options, task id)."""
    creator = creator_bundle()
    bundles = creator.copy_creator_bundle(tmp_path / "bundles", replace(creator.SETTINGS, framework=framework))
    init = subprocess.run([sys.executable, str(bundles / "model_creator.py"), "init", str(tmp_path / "round0")],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert init.returncode == 0, init.stderr[-3000:]
    round0 = json.loads(init.stdout.strip().splitlines()[-1])
    store = ["--data-dir", str(tmp_path / "store")]
    _, created = cli(node_url, "//Alice", "create-task", round0["contributor_bundle"], "--question", "Train the digits MLP",
                     "--reward", "10 UNIT", "--max-assignments", str(slots), "--validation", validation,
                     "--base-model", round0["global_model"], *store)
    return bundles, round0, store, created["task_id"]


def contribute(node_url: str, tmp_path: Path, task_id: int, name: str, index: int, store: list[str],
               *, poison: bool = False) -> tuple[dict[str, Any], dict[str, Any], Path]:
    """//name takes a slot, runs ./start_task.sh on its shard (its weights x -50 when ``poison``)
    and sends the result; returns (assign-task JSON, send-result JSON, result dir)."""
    _, assigned = cli(node_url, f"//{name}", "assign-task", str(task_id), "--work-dir", str(tmp_path / name))
    out = Path(assigned["directory"]) / "result"  # the launcher runs the bundle in the sandbox: only its work dir is writable
    run = subprocess.run([assigned["start_script"], "--yes", "--contributor-index", str(index), "--output", "result"],
                         cwd=assigned["directory"], capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, DECENTRALML_URL=node_url, TF_CPP_MIN_LOG_LEVEL="2"))
    assert run.returncode == 0, run.stderr[-3000:]
    if poison:
        from safetensors.numpy import load_file, save_file

        save_file({k: v * -50.0 for k, v in load_file(str(out / "weights.safetensors")).items()},
                  str(out / "weights.safetensors"))
    _, sent = cli(node_url, f"//{name}", "send-result", str(assigned["submission_id"]), str(out), *store)
    return assigned, sent, out


@pytest.mark.parametrize("framework", ["tensorflow", "torch"])
def test_federated_round_on_the_dev_node(devnode, tmp_path: Path, framework: str) -> None:
    from decentralml.chain.client import ChainClient
    from decentralml.chain.signer import keypair_from_suri
    from decentralml.chain.types import SubmissionStatus, TaskStatus

    bundles, round0, store, task_id = open_round(devnode.url, tmp_path, framework, "custom", 3)
    chain = ChainClient.connect(devnode.url)
    try:
        address = {name: keypair_from_suri(f"//{name}").ss58_address for name in WORKERS}
        before = {name: chain.balance(a).free for name, a in address.items()}
        fees = dict.fromkeys(WORKERS, 0)
        submission_of = {}
        for index, name in enumerate(WORKERS):
            assigned, sent, out = contribute(devnode.url, tmp_path, task_id, name, index, store, poison=name == "Dave")
            assert json.loads((out / "metrics.json").read_text())["base_model_digest"] == round0["digest"]
            fees[name] += fee(assigned) + fee(sent)
            submission_of[name] = assigned["submission_id"]

        if framework == "torch":  # ManualAccept behaviour: the evaluation is shown, nothing changes on chain
            _, shown = cli(devnode.url, "//Alice", "evaluate-results", str(task_id), "--creator-bundle", str(bundles),
                           "--work-dir", str(tmp_path / "creator"), "--no-decide")
            assert {j["decision"] for j in shown} == {"left to the creator"} and len(shown) == 3
            assert [j["passed"] for j in sorted(shown, key=lambda j: j["submission_id"])] == [True, True, False]
            assert all(chain.get_submission(s).status is SubmissionStatus.PENDING_VALIDATION for s in submission_of.values())
        _, judged = cli(devnode.url, "//Alice", "evaluate-results", str(task_id), "--creator-bundle", str(bundles),
                        "--work-dir", str(tmp_path / "creator"))
        verdicts = {j["submission_id"]: j for j in judged}
        assert verdicts[submission_of["Bob"]]["decision"] == "accepted"
        assert verdicts[submission_of["Charlie"]]["decision"] == "accepted"
        assert verdicts[submission_of["Dave"]]["decision"] == "rejected"
        assert "below the threshold" in verdicts[submission_of["Dave"]]["reason"]

        # Paid exactly once per accepted result, nothing for the rejected one.
        code, _ = cli(devnode.url, "//Alice", "accept-result", str(submission_of["Bob"]), check=False)
        assert code != 0
        after = {name: chain.balance(a).free for name, a in address.items()}
        for name in ("Bob", "Charlie"):
            assert after[name] - before[name] == REWARD - fees[name]
            assert chain.get_submission(submission_of[name]).paid == REWARD
        assert after["Dave"] - before["Dave"] == -fees["Dave"]
        dave = chain.get_submission(submission_of["Dave"])
        assert dave.status is SubmissionStatus.REJECTED and dave.paid == 0
        assert chain.get_task(task_id).paid == 2 * REWARD

        _, federated = cli(devnode.url, "//Alice", "federate", str(task_id), "--creator-bundle", str(bundles),
                           "--work-dir", str(tmp_path / "creator"), "--next-round", *store)
        assert {c["submission_id"] for c in federated["contributions"]} == {submission_of["Bob"], submission_of["Charlie"]}
        assert federated["accuracy"] > 0.8 > round0["accuracy"]
        assert chain.get_task(task_id).status is TaskStatus.CLOSED
        nxt = chain.get_task(federated["next_task_id"])
        assert nxt.status is TaskStatus.OPEN and nxt.pays_amount == REWARD and nxt.max_assignments == 3
        assert nxt.assets.base_model is not None and nxt.assets.base_model.digest_hex == federated["digest"]
    finally:
        chain.close()


def test_manual_accept_round_leaves_every_decision_to_the_creator(chain, tmp_path: Path) -> None:
    """ManualAccept: nothing is paid on submission or by the evaluation; the creator records a validation,
    accepts one result by hand and rejects the other; only the creator may decide; paid exactly once; the
    accepted model is federated. On the dev node and on chopsticks running the WebAssembly runtime."""
    from decentralml.chain.client import ChainClient
    from decentralml.chain.signer import keypair_from_suri
    from decentralml.chain.types import SubmissionStatus

    bundles, _, store, task_id = open_round(chain.url, tmp_path, "torch", "manual", 2)
    client = ChainClient.connect(chain.url)
    try:
        workers = ("Bob", "Charlie")
        address = {name: keypair_from_suri(f"//{name}").ss58_address for name in workers}
        before = {name: client.balance(a).free for name, a in address.items()}
        fees = dict.fromkeys(workers, 0)
        submission_of = {}
        for index, name in enumerate(workers):
            # Charlie's model is useless: the evaluation must say so, the creator decides
            assigned, sent, _ = contribute(chain.url, tmp_path, task_id, name, index, store, poison=name == "Charlie")
            assert sent["accepted"] is False and sent["reward"] is None
            fees[name] += fee(assigned) + fee(sent)
            submission_of[name] = assigned["submission_id"]

        # The evaluation of a ManualAccept task only reports (no --no-decide needed).
        _, shown = cli(chain.url, "//Alice", "evaluate-results", str(task_id), "--creator-bundle", str(bundles),
                       "--work-dir", str(tmp_path / "creator"))
        by_id = {j["submission_id"]: j for j in shown}
        assert {j["decision"] for j in shown} == {"left to the creator"}
        assert by_id[submission_of["Bob"]]["passed"] is True and by_id[submission_of["Charlie"]]["passed"] is False
        assert all(client.get_submission(s).status is SubmissionStatus.PENDING_VALIDATION for s in submission_of.values())

        # Only the creator decides.
        code, err = cli(chain.url, "//Bob", "accept-result", str(submission_of["Bob"]), check=False)
        assert code == 9 and "creator" in err.lower()

        _, validated = cli(chain.url, "//Alice", "validate-result", str(submission_of["Bob"]), "--passed", "--score", "9300")
        assert validated["action"] == "validated"
        assert client.get_submission(submission_of["Bob"]).status is SubmissionStatus.VALIDATED
        _, accepted = cli(chain.url, "//Alice", "accept-result", str(submission_of["Bob"]))
        assert int(accepted["reward"]["planck"]) == REWARD
        _, rejected = cli(chain.url, "//Alice", "reject-result", str(submission_of["Charlie"]))
        assert rejected["action"] == "rejected"
        code, _ = cli(chain.url, "//Alice", "accept-result", str(submission_of["Bob"]), check=False)
        assert code == 7  # not awaiting a decision any more: paid exactly once

        after = {name: client.balance(a).free for name, a in address.items()}
        assert after["Bob"] - before["Bob"] == REWARD - fees["Bob"]
        assert after["Charlie"] - before["Charlie"] == -fees["Charlie"]
        bob = client.get_submission(submission_of["Bob"])
        assert bob.status is SubmissionStatus.ACCEPTED and bob.paid == REWARD
        assert bob.validation is not None and (bob.validation.passed, bob.validation.score) == (True, 9300)
        assert client.get_submission(submission_of["Charlie"]).paid == 0
        assert client.get_task(task_id).paid == REWARD

        _, federated = cli(chain.url, "//Alice", "federate", str(task_id), "--creator-bundle", str(bundles),
                           "--work-dir", str(tmp_path / "creator"), *store)
        assert [c["submission_id"] for c in federated["contributions"]] == [submission_of["Bob"]]
    finally:
        client.close()
