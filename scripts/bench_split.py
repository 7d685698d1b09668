#!/usr/bin/env python3
"""Split-learning benchmark: accuracy of split vs unsplit training, and round-robin convergence.

For each dataset (breast cancer: MLP; digits: CNN) and seed, on the same
three private shards and held-out test set:

* unsplit: the network trained normally on the union of the shards;
* split:   the same network trained across the cut (activations forward,
           gradients back by hand) on the same union, same batches;
* initiator/participants: three participants train on their own shards and
           return server halves; the initiator (holder of shard 1) aggregates
           them and trains the main model on its shard;
* round robin: contributors take turns (cycles x 3 turns), each
           from the previous turn's weights; loss/accuracy after every turn.

Goal: split within 1 accuracy point of unsplit. Prints Markdown tables.
Usage: scripts/bench_split.py [--seeds 3] [--cycles 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "client"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from decentralml.fl.split import protocols  # noqa: E402
from decentralml.fl.split.data import prepare_shards, read_csv  # noqa: E402
from decentralml.fl.split.model import SplitSpec, build_network, split_network  # noqa: E402
from decentralml.fl.split.step import ClientHalf, ServerHalf  # noqa: E402
from decentralml.fl.split.train import TrainConfig, evaluate, make_optimizer, train_split, train_unsplit  # noqa: E402

SETUPS = {
    "breast_cancer": (SplitSpec("mlp", 30, (32, 16), 2, cut=2), TrainConfig(epochs=10, batch_size=32, lr="0.02", momentum="0.9")),
    "digits": (SplitSpec("cnn", 64, (8, 16), 10, cut=3, image_size=8), TrainConfig(epochs=10, batch_size=32, lr="0.05", momentum="0.9")),
}


def with_seed(spec: SplitSpec, config: TrainConfig, seed: int, **changes) -> tuple[SplitSpec, TrainConfig]:
    spec = SplitSpec(**{**spec.__dict__, "seed": seed})
    config = TrainConfig(**{**config.__dict__, "seed": seed, **changes})
    return spec, config


def run(dataset: str, seed: int, cycles: int, workdir: Path) -> dict:
    base_spec, base_config = SETUPS[dataset]
    spec, config = with_seed(base_spec, base_config, seed)
    shards = prepare_shards(dataset, workdir / f"{dataset}-{seed}", participants=3, seed=seed)
    load = lambda p: read_csv(p, features=spec.in_features, image_size=spec.image_size)  # noqa: E731
    parts = [load(p) for p in shards.participants]
    x_test, y_test = load(shards.test)
    x_union = torch.cat([x for x, _ in parts])
    y_union = torch.cat([y for _, y in parts])

    whole = build_network(spec)
    t0 = time.perf_counter()
    train_unsplit(whole, x_union, y_union, config)
    t_unsplit = time.perf_counter() - t0
    client_model, server_model = split_network(whole, spec.cut)
    unsplit_acc, _ = evaluate(client_model, server_model, x_test, y_test)

    client_model, server_model = split_network(build_network(spec), spec.cut)
    t0 = time.perf_counter()
    train_split(
        ClientHalf(client_model, make_optimizer(client_model, config)),
        ServerHalf(server_model, make_optimizer(server_model, config), nn.CrossEntropyLoss()),
        x_union, y_union, config,
    )
    t_split = time.perf_counter() - t0
    split_acc, _ = evaluate(client_model, server_model, x_test, y_test)
    max_weight_diff = max(
        float((a - b).detach().abs().max())
        for a, b in zip(list(client_model.parameters()) + list(server_model.parameters()), whole.parameters())
    )

    initial = protocols.initial_checkpoint(spec)
    results = [protocols.participant_step(spec, config, initial, x, y).checkpoint for x, y in parts]
    aggregated = protocols.aggregate_server_halves(results)
    main = protocols.initiator_step(spec, config, initial, aggregated, *parts[0]).checkpoint
    initiator_acc, _ = protocols.evaluate_checkpoint(main, x_test, y_test)

    _, turn_config = with_seed(base_spec, base_config, seed, epochs=max(1, base_config.epochs // cycles))
    checkpoint, trace = initial, []
    for cycle in range(cycles):
        for index, (x, y) in enumerate(parts):
            outcome = protocols.round_robin_turn(spec, turn_config, checkpoint, x, y)
            checkpoint = outcome.checkpoint
            accuracy, loss = protocols.evaluate_checkpoint(checkpoint, x_test, y_test)
            trace.append((cycle, index + 1, outcome.log[-1].loss, loss, accuracy))
    return {
        "unsplit": unsplit_acc, "split": split_acc, "initiator": initiator_acc, "round_robin": trace[-1][4],
        "weight_diff": max_weight_diff, "t_unsplit": t_unsplit, "t_split": t_split, "trace": trace,
        "train": len(y_union), "test": len(y_test),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cycles", type=int, default=3, help="round-robin cycles over the three contributors")
    args = parser.parse_args()
    torch.set_num_threads(1)
    worst_gap = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        print("| dataset | seed | train/test | unsplit acc | split acc | gap (pts) | max |w diff| | initiator/participants acc | round-robin acc | unsplit s | split s |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        traces = {}
        for dataset in SETUPS:
            rows = []
            for seed in range(args.seeds):
                r = run(dataset, seed, args.cycles, Path(tmp))
                gap = 100 * (r["split"] - r["unsplit"])
                worst_gap = max(worst_gap, abs(gap))
                rows.append(r)
                print(f"| {dataset} | {seed} | {r['train']}/{r['test']} | {100 * r['unsplit']:.2f} | {100 * r['split']:.2f} | {gap:+.2f} | "
                      f"{r['weight_diff']:.1e} | {100 * r['initiator']:.2f} | {100 * r['round_robin']:.2f} | {r['t_unsplit']:.2f} | {r['t_split']:.2f} |")
            def mean(key: str, rows: list[dict] = rows) -> float:
                return 100 * statistics.mean(row[key] for row in rows)
            print(f"| {dataset} | mean | | {mean('unsplit'):.2f} | {mean('split'):.2f} | {mean('split') - mean('unsplit'):+.2f} | | "
                  f"{mean('initiator'):.2f} | {mean('round_robin'):.2f} | | |")
            traces[dataset] = rows[0]["trace"]
        for dataset, trace in traces.items():
            print(f"\nRound robin, {dataset}, seed 0 (test set after each turn):\n")
            print("| cycle | contributor | train loss (last epoch) | test loss | test acc |")
            print("|---|---|---|---|---|")
            for cycle, contributor, train_loss, loss, accuracy in trace:
                print(f"| {cycle + 1} | {contributor} | {train_loss:.4f} | {loss:.4f} | {100 * accuracy:.2f} |")
    print(f"\nWorst |split - unsplit| gap: {worst_gap:.2f} points (goal: <= 1.00): {'MET' if worst_gap <= 1.0 else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
