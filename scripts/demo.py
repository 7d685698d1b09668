"""The main job end to end on a fresh dev chain: `creator run` and three `contributor run` processes.

Started by ``scripts/demo.sh`` (which prepares the virtualenv). It starts a dev
node sealing a block every 0.5 s on a free port with local storage in a
temporary directory, prepares round 0 with the creator bundle
(``model_creator.py init``), writes the job's TOML file and starts the roles as
processes: ``decentralml creator run`` for //Alice and ``decentralml contributor
run`` for //Bob and //Charlie (shards of the creator's dataset) and //Dave, who
poisons by training on digits with flipped labels. It waits for the job to
finish (round limit), stops the contributors with SIGTERM and prints the rounds,
the centralized baseline with the same epoch budget, the balances and the
report's path. The demo uses the chain's well-known dev accounts: fine on a
throwaway dev chain, never elsewhere.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BANNER = re.compile(r"RPC \(WebSocket\): (ws://[0-9.]+:\d+)")
CONTRIBUTORS = ("Bob", "Charlie", "Dave")
UNIT = 10**12
DEFAULT_ROUNDS = 3
DEFAULT_EPOCHS = 10


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextmanager
def dev_node(base_path: Path, timeout: float = 60.0, block_time: float | None = 0.5) -> Iterator[str]:
    """A fresh dev node on 127.0.0.1 and a free port sealing a block every ``block_time`` s (None: one block per
    transaction); yields its WebSocket URL, stops it afterwards."""
    log_path = base_path / "devnode.log"
    base_path.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "decentralml.devnode", "--base-path", str(base_path / "chain"), "--rpc-port", "0",
             *(["--block-time", str(block_time)] if block_time else [])],
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


def poisoned_data(path: Path, rows: int, seed: int = 7) -> Path:
    """A label-flipping poisoner's data: digits with their labels permuted (well-formed, useless)."""
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(digits.target), size=rows, replace=False)
    np.savez(path, x=(digits.data[chosen] / 16.0).astype(np.float32), y=rng.permutation(digits.target[chosen]))
    return path


JOB = """[job]
name = "digits-demo"
creator_bundle = "{creator}"
contributor_bundle = "round0/contributor_bundle"
initial_model = "round0/global_model.safetensors"
rounds = {rounds}
strategy = "{strategy}"
baseline_epochs = {baseline}
work_dir = "job"

[round]
reward = "{reward} UNIT"
slots = 3
quorum = {quorum}
validation = "custom"
round_blocks = 2000
assignment_blocks = 1000
question = "Federated round: train the global digits MLP on your data for the set epochs."
"""


def write_job(tmp: Path, settings: Any, *, reward: int, baseline: int, quorum: int = 2) -> Path:
    """The creator bundle copied with ``settings``, its round 0 (``model_creator.py init``) and the JOB file."""
    from decentralml.fl.bundle import load_creator_bundle

    template = load_creator_bundle(ROOT / "assets" / "model_creator")
    creator_dir = template.copy_creator_bundle(tmp / "creator-bundles", settings)
    init = subprocess.run([sys.executable, str(creator_dir / "model_creator.py"), "init", str(tmp / "round0")],
                          capture_output=True, text=True, cwd=tmp)
    if init.returncode != 0:
        raise SystemExit(f"error: the creator bundle's init failed:\n{init.stderr[-2000:]}")
    job = tmp / "digits.toml"
    job.write_text(JOB.format(creator=creator_dir, rounds=settings.rounds, strategy=settings.strategy, reward=reward,
                              baseline=baseline, quorum=quorum))
    return job


def role(url: str, tmp: Path, name: str, *args: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DECENTRALML_STORE_DIR=str(tmp / "store"), PYTHONUNBUFFERED="1")
    with open(log, "wb") as out, open(log.with_suffix(".err"), "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "decentralml.cli.app", "--url", url, "--suri", f"//{name}",
                                 "--json", *args], stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=tmp)


def events(log: Path) -> list[dict[str, Any]]:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [json.loads(line) for line in lines if line.startswith("{")]


def run_demo(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from decentralml.chain.client import ChainClient
    from decentralml.chain.signer import keypair_from_suri
    from decentralml.fl.bundle import load_creator_bundle

    template = load_creator_bundle(ROOT / "assets" / "model_creator")
    settings = replace(template.SETTINGS, framework=args.framework, epochs=args.epochs, rounds=args.rounds,
                       strategy=args.strategy)
    log(f"Round 0: {settings.framework} MLP on digits, {settings.num_contributors} IID shards,"
        f" {settings.epochs} local epochs, {args.rounds} rounds")
    job = write_job(tmp, settings, reward=args.reward, baseline=settings.epochs * args.rounds)
    accounts = {name: keypair_from_suri(f"//{name}").ss58_address for name in ("Alice", *CONTRIBUTORS)}
    names = {address: name for name, address in accounts.items()}
    with dev_node(tmp / "node") as url:
        chain = ChainClient.connect(url)
        before = {address: chain.balance(address).free for address in names}
        data = {"Bob": ("--shard", "0"), "Charlie": ("--shard", "1"),
                "Dave": ("--data", str(poisoned_data(tmp / "dave.npz", 450))) if args.poison else ("--shard", "2")}
        workers = {name: role(url, tmp, name, "contributor", "run", "--yes", "--work-dir", str(tmp / "work" / name),
                              *data[name], log=tmp / f"{name}.jsonl") for name in CONTRIBUTORS}
        creator_log = tmp / "creator.jsonl"
        creator = role(url, tmp, "Alice", "creator", "run", str(job), log=creator_log)
        log("Started `creator run` (//Alice) and `contributor run` for //Bob, //Charlie and"
            f" //Dave{' (poisoning: labels flipped)' if args.poison else ''}; waiting for the job to finish")
        seen = 0
        while creator.poll() is None:
            time.sleep(0.5)
            for event in events(creator_log)[seen:]:
                seen += 1
                if event["type"] == "judged":
                    acc = f"{event['accuracy']:.3f}" if event.get("accuracy") is not None else "-"
                    log(f"  round {event['round']}: {names.get(event['worker'], event['worker'])} held-out"
                        f" accuracy {acc}, {event['decision']}")
                elif event["type"] == "federated":
                    log(f"  round {event['round']} federated: global accuracy {event['accuracy']:.4f}")
        for worker in workers.values():
            worker.send_signal(signal.SIGTERM)
        for worker in workers.values():
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()
        if creator.returncode != 0:
            raise SystemExit(f"error: `creator run` exited {creator.returncode}:\n"
                             f"{creator_log.with_suffix('.err').read_text(errors='replace')[-2000:]}")
        after = {address: chain.balance(address).free for address in names}
        chain.close()
    history = events(creator_log)
    finished = next(e for e in history if e["type"] == "finished")
    report = next((e for e in history if e["type"] == "report"), {})
    rounds = []
    for fed in (e for e in history if e["type"] == "federated"):
        judged = [e for e in history if e["type"] == "judged" and e["round"] == fed["round"]]
        rounds.append({
            "round": fed["round"], "task_id": fed["task_id"], "global_accuracy": fed["accuracy"],
            "contributions": [{"worker": j["worker"], "name": names.get(j["worker"], "?"),
                               "submission_id": j["submission_id"], "accuracy": j.get("accuracy"),
                               "verdict": j["decision"], "reason": j["reason"]} for j in judged],
        })
    return {
        "framework": settings.framework,
        "strategy": args.strategy,
        "rounds": rounds,
        "centralized_accuracy": finished.get("baseline_accuracy"),
        "stopped_because": finished["reason"],
        "balances": {address: {"name": names[address], "before": str(before[address]), "after": str(after[address])}
                     for address in names},
        "report": keep_report(Path(report["html"])) if report.get("html") else None,
    }


def keep_report(html: Path) -> str:
    """Copy the report and its accuracy curve out of the demo's temporary directory; returns the HTML path."""
    out = Path(tempfile.mkdtemp(prefix="decentralml-demo-report-"))
    for file in (html, html.with_name("accuracy.png")):
        shutil.copyfile(file, out / file.name)
    return str(out / html.name)


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
    if summary["centralized_accuracy"] is not None:
        console.print(f"Centralized training, same epoch budget: {summary['centralized_accuracy']:.2%}")
    console.print(f"The job stopped: {summary['stopped_because']}")
    balances = Table(title="Balances (UNIT, fees included)")
    for column in ("Account", "Address", "Before", "After", "Change"):
        balances.add_column(column, justify="right" if column in ("Before", "After", "Change") else "left")
    for address, b in summary["balances"].items():
        before, after = int(b["before"]), int(b["after"])
        balances.add_row(b["name"], address, f"{before / UNIT:,.4f}", f"{after / UNIT:,.4f}", f"{(after - before) / UNIT:+,.4f}")
    console.print(balances)
    if summary.get("report"):
        console.print(f"Report: {summary['report']}")
    console.print(f"Demo ran in {seconds:.0f} s (dev accounts //Alice, //Bob, //Charlie, //Dave on a throwaway dev chain).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Federated learning on a fresh DecentralML dev chain, end to end.")
    parser.add_argument("--json", action="store_true", help="Print exactly one JSON object on stdout.")
    parser.add_argument("--framework", choices=("tensorflow", "torch"), default="torch")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="Local epochs per round.")
    parser.add_argument("--strategy", choices=("fedavg", "median", "trimmed-mean", "krum"), default="fedavg")
    parser.add_argument("--reward", type=int, default=10, help="Reward per accepted result, in UNIT.")
    parser.add_argument("--no-poison", dest="poison", action="store_false",
                        help="Dave trains honestly on shard 2 instead of poisoning.")
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
