"""Unattended roles: per-round protocol overhead of `creator run` with three `contributor run` processes
against Flower 1.x on the same model, shards and rounds, and the latency from a result's inclusion to its
decision on chain (p50, p99).

Ours: a fresh dev node (one block per transaction by default, ``--block-time`` otherwise), `creator run`
(CustomAccept, quorum = slots = 3) and three honest `contributor run` processes on shards 0..2 of digits
(torch MLP). A round's wall time runs from the creator's ``round_opening`` journal record to its
``federated`` record; its training time is the longest task run of the round (the contributor's runner,
start_task.sh included: process start and framework import count as training, as Flower's clients have
theirs loaded already); overhead = wall - training (everything else: uploads, transactions, waiting for
blocks, downloads, validation, aggregation, evaluation). Flower: ``scripts/bench_fl.py`` part (b), in-process
clients over gRPC with the same model, shards, initial weights, rounds and epochs.
Latency: from the contributor's ``sent`` record (written once send_task_result is in a block) to the
creator's ``judged`` record (written once the accept or reject is in a block), per result.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import demo  # noqa: E402 - the demo's dev node, job file and role processes


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def journal(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ours(rounds: int, epochs: int, block_time: float | None, tmp: Path) -> dict[str, Any]:
    from decentralml.fl.bundle import load_creator_bundle

    template = load_creator_bundle(demo.ROOT / "assets" / "model_creator")
    settings = replace(template.SETTINGS, framework="torch", epochs=epochs, rounds=rounds, strategy="fedavg")
    job = demo.write_job(tmp, settings, reward=10, baseline=0, quorum=3)
    names = ("Bob", "Charlie", "Dave")
    with demo.dev_node(tmp / "node", block_time=block_time) as url:
        workers = [demo.role(url, tmp, name, "contributor", "run", "--yes", "--work-dir", str(tmp / "work" / name),
                             "--shard", str(i), log=tmp / f"{name}.jsonl") for i, name in enumerate(names)]
        time.sleep(3)
        creator = demo.role(url, tmp, "Alice", "creator", "run", str(job), log=tmp / "creator.jsonl")
        code = creator.wait()
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(60)
    if code != 0:
        raise SystemExit(f"creator run exited {code}: {(tmp / 'creator.err').read_text()[-2000:]}")
    records = journal(tmp / "job" / "journal.jsonl")
    contributors = [r for name in names for r in journal(tmp / "work" / name / "journal.jsonl")]
    rows = []
    for fed in (r for r in records if r["type"] == "federated"):
        opening = next(r for r in records if r["type"] == "round_opening" and r["round"] == fed["round"])
        runs = [r["seconds"] for r in contributors if r["type"] == "ran" and r["task_id"] == fed["task_id"]]
        wall = fed["time"] - opening["time"]
        rows.append({"round": fed["round"], "wall": wall, "training": max(runs), "overhead": wall - max(runs),
                     "accuracy": fed["accuracy"]})
    sent = {r["submission_id"]: r["time"] for r in contributors if r["type"] == "sent"}
    latencies = [r["time"] - sent[r["submission_id"]] for r in records
                 if r["type"] == "judged" and r["submission_id"] in sent]
    return {
        "accuracy": rows[-1]["accuracy"],
        "round_seconds": sum(r["wall"] for r in rows) / len(rows),
        "training_seconds_critical_path": sum(r["training"] for r in rows) / len(rows),
        "overhead_seconds": sum(r["overhead"] for r in rows) / len(rows),
        "rounds": rows,
        "decision_latency_seconds": {"count": len(latencies), "p50": percentile(latencies, 50),
                                     "p99": percentile(latencies, 99)},
    }


def flower(rounds: int, epochs: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(HERE / "bench_fl.py"), "--parts", "b", "--rounds", str(rounds),
                           "--epochs", str(epochs), "--contributors", "3", "--json"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_fl.py (b) failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)["b"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2, help="Local epochs per round.")
    parser.add_argument("--block-time", type=float, default=None,
                        help="Seconds per block on the dev node (default: one block per transaction).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-roles-") as tmp:
        print("ours: creator run + 3 contributor run processes on a dev node...", file=sys.stderr)
        mine = ours(args.rounds, args.epochs, args.block_time, Path(tmp))
    print("Flower: scripts/bench_fl.py (b)...", file=sys.stderr)
    theirs = flower(args.rounds, args.epochs)
    report = {"rounds": args.rounds, "local_epochs": args.epochs, "contributors": 3, "block_time": args.block_time,
              "roles": mine, "flower": theirs["flower"], "ours_without_chain": theirs["ours"]}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    f, o, n = report["flower"], mine, report["ours_without_chain"]
    print(f"{args.rounds} rounds x {args.epochs} local epochs, 3 contributors, torch MLP on digits")
    print(f"  roles on the dev node: accuracy {o['accuracy']:.2%}  round {o['round_seconds']:.2f} s  training"
          f" (critical path) {o['training_seconds_critical_path']:.2f} s  overhead {o['overhead_seconds']:.2f} s")
    print(f"  Flower 1.x:            accuracy {f['accuracy']:.2%}  round {f['round_seconds']:.2f} s  training"
          f" (critical path) {f['training_seconds_critical_path']:.2f} s  overhead {f['overhead_seconds']:.2f} s")
    print(f"  ours without chain:    accuracy {n['accuracy']:.2%}  overhead {n['overhead_seconds']:.2f} s")
    lat = o["decision_latency_seconds"]
    print(f"  inclusion to decision: p50 {lat['p50']:.2f} s  p99 {lat['p99']:.2f} s  ({lat['count']} results)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
