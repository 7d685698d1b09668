"""The main job end to end on a fresh dev chain: a creator and three contributors run federated rounds.

Started by ``scripts/demo.sh`` (which prepares the virtualenv). It starts a dev
node on a free port with local storage in a temporary directory, then per round:
the creator (//Alice) creates a model-contributor task with the contributor
bundle and the global model as base model; //Bob, //Charlie and //Dave assign
it, run ``./start_task.sh`` on their shard and send their results; the creator
evaluates each with its validation function (CustomAccept: validate + accept or
reject on chain, so payments move), federates the accepted results and opens
the next round with the new global model. The demo uses the chain's
well-known dev accounts: fine on a throwaway dev chain, never elsewhere.

It drives the same use cases the CLI commands call (create-task, assign-task,
send-result, evaluate-results, federate --next-round).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BANNER = re.compile(r"RPC \(WebSocket\): (ws://[0-9.]+:\d+)")
CONTRIBUTORS = ("Bob", "Charlie", "Dave")
UNIT = 10**12


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextmanager
def dev_node(base_path: Path, timeout: float = 60.0) -> Iterator[str]:
    """A fresh dev node on 127.0.0.1 and a free port; yields its WebSocket URL, stops it afterwards."""
    log_path = base_path / "devnode.log"
    base_path.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "decentralml.devnode", "--base-path", str(base_path / "chain"), "--rpc-port", "0"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            match = BANNER.search(log_path.read_text(errors="replace"))
            if match:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"error: the dev node did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        yield match.group(1)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Contribution:
    worker: str
    name: str
    submission_id: int
    accuracy: float | None
    verdict: str
    reason: str


@dataclass(frozen=True)
class Round:
    number: int
    task_id: int
    global_accuracy: float
    contributions: tuple[Contribution, ...]


def poison(result_dir: Path) -> None:
    """What a malicious contributor might send: its weights flipped and blown up (well-formed, finite)."""
    from safetensors.numpy import load_file, save_file

    path = result_dir / "weights.safetensors"
    weights = {k: v * -50.0 for k, v in load_file(str(path)).items()}
    save_file(weights, str(path))


def run_demo(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from decentralml.chain.client import ChainClient
    from decentralml.chain.signer import keypair_from_suri
    from decentralml.chain.types import TaskStatus, TaskType, ValidationStrategy
    from decentralml.fl.bundle import load_creator_bundle
    from decentralml.usecases.federation import federate, judge_pending, open_next_round
    from decentralml.fl.strategy import strategy_by_name
    from decentralml.storage.factory import StoreSettings, open_store, store_for
    from decentralml.usecases import assign_task, close_task, create_task, send_result
    from decentralml.usecases.creator import TaskSpec

    # The creator's bundle for the chosen framework (a copy with its settings written in).
    template = load_creator_bundle(ROOT / "assets" / "model_creator")
    settings = replace(template.SETTINGS, framework=args.framework, rounds=args.rounds, strategy=args.strategy)
    creator = load_creator_bundle(template.copy_creator_bundle(tmp / "creator-bundles", settings))
    store_settings = StoreSettings(data_dir=tmp / "store")
    store = open_store("local", store_settings)
    opener = lambda ref: store_for(ref, store_settings)  # noqa: E731
    creator_work = tmp / "creator"
    creator_work.mkdir()

    log(f"Round 0: {settings.framework} MLP on digits, {settings.num_contributors} IID shards, {settings.epochs} local epochs")
    global_model = creator.initial_global_model(creator_work)
    bundle_dir = creator.prepare_contributor_bundle(None, creator_work / "contributor_bundle")

    with dev_node(tmp / "node") as url:
        chain = ChainClient.connect(url)
        alice = keypair_from_suri("//Alice")
        workers = {name: keypair_from_suri(f"//{name}") for name in CONTRIBUTORS}
        accounts = {"Alice": alice, **workers}
        before = {kp.ss58_address: chain.balance(kp.ss58_address).free for kp in accounts.values()}
        spec = TaskSpec(
            task_type=TaskType.MODEL_CONTRIBUTOR,
            question="Federated round: train the global digits MLP on your shard for the set epochs.",
            pays_amount=args.reward * UNIT,
            max_assignments=len(CONTRIBUTORS),
            validation_strategy=ValidationStrategy.CUSTOM_ACCEPT,
            expires_in_blocks=10_000,
            assignment_deadline=5_000,
        )
        task_id = create_task(chain, alice, store, spec, bundle_dir, base_model=global_model).task_id
        rounds: list[Round] = []
        for number in range(1, args.rounds + 1):
            log(f"Round {number}: task {task_id}")
            submissions: dict[int, str] = {}
            for index, (name, kp) in enumerate(workers.items()):
                assigned = assign_task(chain, kp, task_id, opener, tmp / "work" / name)
                out = assigned.directory / "result"  # the launcher runs the bundle sandboxed: only its work dir is writable
                env = dict(os.environ, DECENTRALML_URL=url, TF_CPP_MIN_LOG_LEVEL="2")
                done = subprocess.run(
                    [str(assigned.start_script), "--yes", "--contributor-index", str(index), "--output", "result"],
                    cwd=assigned.directory, env=env, capture_output=True, text=True,
                )
                if done.returncode != 0:
                    raise SystemExit(f"error: {name}'s start_task.sh failed:\n{done.stderr[-2000:]}")
                if name == "Dave" and number in args.poison_rounds:
                    poison(out)
                send_result(chain, kp, store, assigned.submission_id, out)
                submissions[assigned.submission_id] = name
                log(f"  {name}: submission {assigned.submission_id} sent")
            judgements = judge_pending(chain, alice, task_id, creator, opener, creator_work)
            for j in judgements:
                acc = f"{j.report.evaluation.accuracy:.3f}" if j.report.evaluation else "-"
                log(f"  {submissions[j.submission_id]}: held-out accuracy {acc}, {j.decision}")
            result = federate(chain, task_id, creator, strategy_by_name(args.strategy), opener, creator_work,
                              creator_work / f"global-round{number}.safetensors")
            log(f"  federated ({result.strategy}): global accuracy {result.evaluation.accuracy:.4f}")
            rounds.append(Round(number, task_id, result.evaluation.accuracy, tuple(
                Contribution(j.worker, submissions[j.submission_id], j.submission_id,
                             j.report.evaluation.accuracy if j.report.evaluation else None, j.decision, j.report.reason)
                for j in judgements
            )))
            if number < args.rounds:
                task_id = open_next_round(chain, alice, store, opener, task_id, result.global_model, creator_work).created.task_id
        last = chain.get_task(task_id)
        if last.status is TaskStatus.OPEN:
            close_task(chain, alice, task_id)
        after = {address: chain.balance(address).free for address in before}
        chain.close()

    log("Centralized baseline: the same model on all training data, same epoch budget")
    model = creator.create_model()
    (x_train, y_train), (x_test, y_test) = creator.load_data()
    creator.train_model(model, x_train, y_train, settings.epochs * args.rounds)
    _, centralized = creator.evaluate_model(model, x_test, y_test)
    names = {kp.ss58_address: name for name, kp in accounts.items()}
    return {
        "framework": settings.framework,
        "strategy": args.strategy,
        "rounds": [
            {
                "round": r.number,
                "task_id": r.task_id,
                "global_accuracy": r.global_accuracy,
                "contributions": [
                    {"worker": c.worker, "name": c.name, "submission_id": c.submission_id, "accuracy": c.accuracy,
                     "verdict": c.verdict, "reason": c.reason}
                    for c in r.contributions
                ],
            }
            for r in rounds
        ],
        "centralized_accuracy": centralized,
        "balances": {
            address: {"name": names[address], "before": str(before[address]), "after": str(after[address])}
            for address in before
        },
    }


def render(summary: dict[str, Any], seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    rounds = Table(title=f"Federated rounds ({summary['framework']}, {summary['strategy']})")
    for column in ("Round", "Task", "Contributor", "Held-out accuracy", "Verdict", "Global accuracy"):
        rounds.add_column(column)
    for r in summary["rounds"]:
        for i, c in enumerate(r["contributions"]):
            acc = f"{c['accuracy']:.2%}" if c["accuracy"] is not None else "-"
            rounds.add_row(str(r["round"]) if i == 0 else "", str(r["task_id"]) if i == 0 else "", c["name"], acc,
                           c["verdict"], f"{r['global_accuracy']:.2%}" if i == len(r["contributions"]) - 1 else "")
    console.print(rounds)
    console.print(f"Centralized training, same epoch budget: {summary['centralized_accuracy']:.2%}")
    balances = Table(title="Balances (UNIT, fees included)")
    for column in ("Account", "Address", "Before", "After", "Change"):
        balances.add_column(column, justify="right" if column in ("Before", "After", "Change") else "left")
    for address, b in summary["balances"].items():
        before, after = int(b["before"]), int(b["after"])
        balances.add_row(b["name"], address, f"{before / UNIT:,.4f}", f"{after / UNIT:,.4f}", f"{(after - before) / UNIT:+,.4f}")
    console.print(balances)
    console.print(f"Demo ran in {seconds:.0f} s (dev accounts //Alice, //Bob, //Charlie, //Dave on a throwaway dev chain).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Federated learning on a fresh DecentralML dev chain, end to end.")
    parser.add_argument("--json", action="store_true", help="Print exactly one JSON object on stdout.")
    parser.add_argument("--framework", choices=("tensorflow", "torch"), default="torch")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--strategy", choices=("fedavg", "median", "trimmed-mean", "krum"), default="fedavg")
    parser.add_argument("--reward", type=int, default=10, help="Reward per accepted result, in UNIT.")
    parser.add_argument("--poison-rounds", type=lambda s: {int(x) for x in s.split(",") if x}, default={2},
                        help="Rounds in which Dave sends a poisoned model (comma list; '' for none). Default: 2.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary directory.")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    tmp = Path(tempfile.mkdtemp(prefix="decentralml-demo-"))
    started = time.monotonic()
    try:
        from decentralml.errors import DecentralMLError

        try:
            summary = run_demo(args, tmp)
        except DecentralMLError as exc:
            print(f"error: {exc.one_line()}", file=sys.stderr)
            return exc.exit_code
        seconds = time.monotonic() - started
        summary["seconds"] = round(seconds, 1)
        if args.json:
            print(json.dumps(summary))
        else:
            render(summary, seconds)
        return 0
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
