"""Federated-learning benchmarks; prints figures (no assertions) for docs/federated.md.

  (a) federated (FedAvg, IID shards) vs centralized accuracy on digits, same epoch budget
  (b) the same task with Flower (legacy gRPC mode on 127.0.0.1, in one process; `flwr.simulation`
      needs ray, not installed here): accuracy and per-round overhead (everything but training)
  (c) aggregating 10 models of 25M float32 parameters: ours vs a streaming NumPy baseline vs the
      prototype's approach (Keras models + tf.reduce_mean), time and peak memory, against the page-cache
      read floor of the same files (read(2) in-process, timed like the aggregation; and `cat`)

Each part runs in its own process (TensorFlow and PyTorch cannot share a process; peak RSS is per process).
Usage: python scripts/bench_fl.py [--parts a,b,c] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "client"  # the checkout's package, not an installed copy
sys.path[:0] = [str(CLIENT), str(ROOT)]  # ROOT: tests.fl.bundles for (a) and (b)

SHAPES = {"dense_0.kernel": (5000, 4000), "dense_0.bias": (4000,), "dense_1.kernel": (4000, 1000),
          "dense_1.bias": (1000,), "dense_2.kernel": (1000, 1000), "dense_2.bias": (1000,)}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def contributor_code(framework: str = "torch") -> tuple[Any, Any, Any]:
    from tests.fl.bundles import creator_bundle

    creator = creator_bundle()
    settings = replace(creator.SETTINGS, framework=framework)
    return creator, creator.contributor_code(settings), settings


# ---------------------------------------------------------------- (a) federated vs centralized


def part_a(contributor_counts: list[int], rounds: int, epochs: int, seeds: list[int]) -> dict[str, Any]:
    import numpy as np
    import torch

    from decentralml.fl import FedAvg, InMemoryModel, Update

    torch.set_num_threads(1)
    creator, code, cs = contributor_code("torch")
    rows = []
    for k in contributor_counts:
        fed, cen = [], []
        for seed in seeds:
            ts = code.TrainingSettings(**{**cs.training_fields(), "num_contributors": k, "epochs": epochs, "seed": seed})
            (x, y), (xt, yt) = code.load_dataset(ts)
            global_w = code.get_weights(code.create_model(ts), ts)
            for _ in range(rounds):
                updates = []
                for i in range(k):
                    idx = code.shard_indices(y, i, ts)
                    model = code.set_weights(code.create_model(ts), global_w, ts)
                    code.train_model(model, x[idx], y[idx], ts)
                    updates.append(Update(InMemoryModel(code.get_weights(model, ts)), len(idx)))
                global_w = FedAvg().aggregate(updates).weights
            fed.append(code.evaluate_model(code.set_weights(code.create_model(ts), global_w, ts), xt, yt, ts)[1])
            model = code.create_model(ts)
            code.train_model(model, x, y, ts, epochs=rounds * epochs)
            cen.append(code.evaluate_model(model, xt, yt, ts)[1])
        rows.append({"contributors": k, "federated": float(np.mean(fed)), "centralized": float(np.mean(cen)),
                     "gap_points": float(100 * (np.mean(cen) - np.mean(fed))), "seeds": len(seeds)})
    return {"rounds": rounds, "local_epochs": epochs, "rows": rows}


# ---------------------------------------------------------------- (b) ours vs Flower


def part_b(rounds: int, epochs: int, k: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    ours = _ours_rounds(rounds, epochs, k)
    flower = _flower_rounds(rounds, epochs, k)
    return {"rounds": rounds, "local_epochs": epochs, "contributors": k, "ours": ours, "flower": flower}


def _ours_rounds(rounds: int, epochs: int, k: int) -> dict[str, Any]:
    """Our protocol without the chain: safetensors files through the local store (digest-checked both ways),
    contributors' bundle code, CustomAccept validation of each result, FedAvg, global evaluation."""
    from decentralml.fl import FedAvg, Update
    from decentralml.fl.validation import validate_contribution
    from decentralml.fl.weights import load_result_dir, read_spec, save_weights
    from decentralml.storage.factory import StoreSettings, open_store

    creator, code, cs = contributor_code("torch")
    settings = replace(cs, epochs=epochs, num_contributors=k)
    ts = code.TrainingSettings(**settings.training_fields())
    (x, y), (xt, yt) = code.load_dataset(ts)
    work = Path(tempfile.mkdtemp(prefix="bench-ours-"))
    store = open_store("local", StoreSettings(data_dir=work / "store"))
    global_w = code.get_weights(code.create_model(ts), ts)
    per_round, train_time, validation_time = [], [], []

    def evaluate(weights: dict) -> Any:
        from decentralml.fl.validation import Evaluation

        loss, acc = code.evaluate_model(code.set_weights(code.create_model(ts), weights, ts), xt, yt, ts)
        return Evaluation(loss, acc)

    accuracy = 0.0
    for r in range(rounds):
        start = time.perf_counter()
        trained = 0.0
        base_path = work / f"global-{r}.safetensors"
        base_digest = save_weights(base_path, global_w)
        base_ref = store.put(base_path)
        refs = []
        for i in range(k):
            local_base = store.get(base_ref, work / f"r{r}-c{i}-base.safetensors")
            model = code.load_model(local_base, ts)
            xs, ys = code.load_data(i, None, ts)
            t0 = time.perf_counter()
            code.train_model(model, xs, ys, ts)
            trained += time.perf_counter() - t0
            loss, acc = code.evaluate_model(model, xs, ys, ts)
            out = code.save_model(model, work / f"r{r}-c{i}-result", {
                "num_samples": len(ys), "loss": loss, "accuracy": acc, "framework": "torch",
                "base_model_digest": base_digest}, ts, f"c{i}")
            refs.append(store.put(out))
        spec = read_spec(base_path)
        updates = []
        v0 = time.perf_counter()
        for i, ref in enumerate(refs):
            got = store.get(ref, work / f"r{r}-c{i}-fetched")
            report = validate_contribution(got / "weights.safetensors", (got / "metrics.json").read_bytes(),
                                           base_spec=spec, base_digest=base_digest, evaluate=evaluate, threshold=0.0)
            assert report.passed, report.reason
            result = load_result_dir(got, base_spec=spec, base_digest=base_digest)
            updates.append(Update(result.weights, result.metrics.num_samples))
        validation_time.append(time.perf_counter() - v0)
        global_w = FedAvg().aggregate(updates, spec).weights
        accuracy = evaluate(global_w).accuracy
        per_round.append(time.perf_counter() - start)
        train_time.append(trained)
    overhead = [w - t for w, t in zip(per_round, train_time)]
    return {"accuracy": accuracy, "round_seconds": sum(per_round) / rounds, "training_seconds": sum(train_time) / rounds,
            "overhead_seconds": sum(overhead) / rounds, "validation_seconds": sum(validation_time) / rounds}


def _flower_rounds(rounds: int, epochs: int, k: int) -> dict[str, Any]:
    import logging
    import socket
    import warnings

    import numpy as np

    warnings.filterwarnings("ignore")
    from flwr.client import NumPyClient, start_client
    from flwr.common import logger as flwr_logger
    from flwr.common import ndarrays_to_parameters
    from flwr.server import ServerConfig, start_server
    from flwr.server.strategy import FedAvg as FlowerFedAvg

    flwr_logger.FLOWER_LOGGER.setLevel(logging.ERROR)
    creator, code, cs = contributor_code("torch")
    settings = replace(cs, epochs=epochs, num_contributors=k)
    ts = code.TrainingSettings(**settings.training_fields())
    (x, y), (xt, yt) = code.load_dataset(ts)
    names = list(code.get_weights(code.create_model(ts), ts))
    initial = code.get_weights(code.create_model(ts), ts)
    train_times: dict[int, list[float]] = {}
    lock = threading.Lock()

    class Client(NumPyClient):
        def __init__(self, index: int) -> None:
            self.index = index

        def fit(self, parameters, config):  # type: ignore[no-untyped-def]
            model = code.set_weights(code.create_model(ts), dict(zip(names, parameters)), ts)
            xs, ys = code.load_data(self.index, None, ts)
            t0 = time.perf_counter()
            code.train_model(model, xs, ys, ts)
            spent = time.perf_counter() - t0
            with lock:
                train_times.setdefault(int(config["round"]), []).append(spent)
            weights = code.get_weights(model, ts)
            return [weights[n] for n in names], len(ys), {}

        def evaluate(self, parameters, config):  # type: ignore[no-untyped-def]
            return 0.0, 1, {}

    marks: dict[int, list[float]] = {}
    accuracy = {"value": 0.0}

    class Timed(FlowerFedAvg):
        def configure_fit(self, server_round, parameters, client_manager):  # type: ignore[no-untyped-def]
            marks[server_round] = [time.perf_counter()]
            return super().configure_fit(server_round, parameters, client_manager)

    def evaluate_fn(server_round, parameters, config):  # type: ignore[no-untyped-def]
        loss, acc = code.evaluate_model(code.set_weights(code.create_model(ts), dict(zip(names, parameters)), ts), xt, yt, ts)
        if server_round in marks:
            marks[server_round].append(time.perf_counter())
        accuracy["value"] = acc
        return loss, {"accuracy": acc}

    strategy = Timed(fraction_fit=1.0, fraction_evaluate=0.0, min_fit_clients=k, min_available_clients=k,
                     evaluate_fn=evaluate_fn, on_fit_config_fn=lambda rnd: {"round": rnd},
                     initial_parameters=ndarrays_to_parameters([initial[n] for n in names]))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"127.0.0.1:{port}"

    def launch() -> None:
        time.sleep(0.5)
        for i in range(k):
            threading.Thread(target=start_client, kwargs={"server_address": address, "client": Client(i).to_client()},
                             daemon=True).start()

    threading.Thread(target=launch, daemon=True).start()
    start_server(server_address=address, config=ServerConfig(num_rounds=rounds), strategy=strategy)
    walls = [marks[r][1] - marks[r][0] for r in range(1, rounds + 1)]
    critical = [max(train_times[r]) for r in range(1, rounds + 1)]
    total = [sum(train_times[r]) for r in range(1, rounds + 1)]
    return {"accuracy": accuracy["value"], "round_seconds": float(np.mean(walls)),
            "training_seconds_critical_path": float(np.mean(critical)), "training_seconds_sum": float(np.mean(total)),
            "overhead_seconds": float(np.mean([w - c for w, c in zip(walls, critical)]))}


# ---------------------------------------------------------------- (c) aggregation of large models


def make_models(directory: Path, count: int) -> list[int]:
    import numpy as np

    from decentralml.fl.weights import save_weights

    rng = np.random.default_rng(0)
    counts = []
    for i in range(count):
        weights = {k: rng.standard_normal(s, dtype=np.float32) for k, s in SHAPES.items()}
        save_weights(directory / f"model-{i}.safetensors", weights)
        counts.append(100 + 10 * i)
    (directory / "counts.json").write_text(json.dumps(counts))
    return counts


def warm(directory: Path, suffix: str, count: int) -> None:
    """Read the model files once so every method starts from the page cache (this VM reclaims cold cache)."""
    buffer = bytearray(1 << 20)
    for i in range(count):
        with open(directory / f"model-{i}{suffix}", "rb", buffering=0) as f:
            while f.readinto(buffer):
                pass


def agg_ours(directory: Path, count: int) -> dict[str, Any]:
    import decentralml
    from decentralml.fl import FedAvg, SafetensorsModel, Update

    if not Path(decentralml.__file__).is_relative_to(CLIENT):
        raise SystemExit(f"bench_fl times this checkout's package, but imported {decentralml.__file__}")

    counts = json.loads((directory / "counts.json").read_text())
    warm(directory, ".safetensors", count)
    base = current_rss_mb()
    t0, cpu0 = time.perf_counter(), time.process_time()
    spec = SafetensorsModel(directory / "model-0.safetensors").spec
    updates = [Update(SafetensorsModel(directory / f"model-{i}.safetensors", expected=spec), counts[i]) for i in range(count)]
    out = FedAvg().aggregate(updates, spec).weights
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_mb": rss_mb() - base, "check": float(out["dense_2.bias"][0])}


def agg_numpy(directory: Path, count: int) -> dict[str, Any]:
    """A plain streaming NumPy baseline: load one whole model at a time, acc += w * n, divide at the end."""
    from safetensors.numpy import load_file

    counts = json.loads((directory / "counts.json").read_text())
    warm(directory, ".safetensors", count)
    base = current_rss_mb()
    t0 = time.perf_counter()
    acc: dict[str, Any] = {}
    for i in range(count):
        model = load_file(str(directory / f"model-{i}.safetensors"))
        for name, tensor in model.items():
            if name in acc:
                acc[name] += tensor * counts[i]
            else:
                acc[name] = tensor * counts[i]
        del model
    total = sum(counts[:count])
    out = {k: v / total for k, v in acc.items()}
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_mb": rss_mb() - base, "check": float(out["dense_2.bias"][0])}


def agg_numpy_mmap(directory: Path, count: int) -> dict[str, Any]:
    """A second streaming NumPy baseline: safetensors' mmap reader one tensor at a time, acc += t * n."""
    from safetensors import safe_open

    counts = json.loads((directory / "counts.json").read_text())
    warm(directory, ".safetensors", count)
    base = current_rss_mb()
    t0 = time.perf_counter()
    acc: dict[str, Any] = {}
    for i in range(count):
        with safe_open(str(directory / f"model-{i}.safetensors"), framework="np") as f:
            for name in f.keys():
                tensor = f.get_tensor(name)
                if name in acc:
                    acc[name] += tensor * counts[i]
                else:
                    acc[name] = tensor * counts[i]
    total = sum(counts[:count])
    out = {k: v / total for k, v in acc.items()}
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_mb": rss_mb() - base, "check": float(out["dense_2.bias"][0])}


def keras_models(directory: Path, count: int) -> None:
    """The prototype's artifacts: one saved Keras model per contributor (same 25M parameters)."""
    import keras
    from safetensors.numpy import load_file

    for i in range(count):
        model = keras.Sequential([keras.Input((5000,)), keras.layers.Dense(4000), keras.layers.Dense(1000), keras.layers.Dense(1000)])
        w = load_file(str(directory / f"model-{i}.safetensors"))
        model.set_weights([w[n] for n in SHAPES])
        model.save(directory / f"model-{i}.keras")


def agg_prototype(directory: Path, count: int) -> dict[str, Any]:
    """The prototype's federate step: load every Keras model, tf.reduce_mean over trainable_variables, set_weights."""
    import keras
    import tensorflow as tf

    warm(directory, ".keras", count)
    base = current_rss_mb()
    t0 = time.perf_counter()
    models = [keras.models.load_model(directory / f"model-{i}.keras") for i in range(count)]
    # Keras 3 variables wrap the TF tensor in .value (under Keras 2 the prototype passed tf.Variables directly)
    client_weights = [[v.value for v in m.trainable_variables] for m in models]
    avg = [tf.reduce_mean(layer, axis=0) for layer in zip(*client_weights)]
    target = keras.models.load_model(directory / "model-0.keras")
    target.set_weights([a.numpy() for a in avg])
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_mb": rss_mb() - base, "check": float(avg[-1].numpy()[0])}


READ_BUFFER = 128 * 1024  # what GNU cat reads per read(2) (coreutils 9: io_blksize)


def read_floor(directory: Path, count: int) -> dict[str, Any]:
    """The page-cache read floor timed as the aggregation is: in this process, after the same warm read, from
    the first open to the last byte, every byte of the same files copied out of the page cache with read(2)
    into one reused 128 KiB buffer (what ``cat`` does per file; nothing else)."""
    files = [directory / f"model-{i}.safetensors" for i in range(count)]
    warm(directory, ".safetensors", count)
    buffer = bytearray(READ_BUFFER)
    total = 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    for path in files:
        with open(path, "rb", buffering=0) as f:
            while n := f.readinto(buffer):
                total += n
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    expected = sum(path.stat().st_size for path in files)
    if total != expected:
        raise SystemExit(f"read {total} bytes of {expected}")
    return {"seconds": seconds, "cpu_seconds": cpu, "bytes": total, "peak_mb": 0.0}


def cat_floor(directory: Path, count: int) -> dict[str, Any]:
    """``cat`` of the same files to /dev/null after a warm read: a whole process (fork, exec, reads), timed outside."""
    files = [str(directory / f"model-{i}.safetensors") for i in range(count)]
    warm(directory, ".safetensors", count)
    t0 = time.perf_counter()
    subprocess.run(["cat", *files], stdout=subprocess.DEVNULL, check=True)
    return {"seconds": time.perf_counter() - t0, "peak_mb": 0.0}


def part_c(count: int, methods: list[str], rounds: int = 3) -> dict[str, Any]:
    """Every method and both floors once per round, interleaved (a busy machine's load then weighs on all
    alike), each in a fresh process; the best round of each is kept and the per-round ratios reported."""
    numpy = __import__("numpy")
    model_mb = sum(int(numpy.prod(s)) for s in SHAPES.values()) * 4 / 2**20
    with tempfile.TemporaryDirectory(prefix="bench-agg-") as tmp:
        directory = Path(tmp)
        _child("_make", str(directory), str(count))
        if "prototype" in methods:
            _child("_keras_models", str(directory), str(count))
        results: dict[str, Any] = {}
        per_round: list[dict[str, float]] = []
        for _ in range(rounds):
            this_round = {}
            for method in methods:
                this_round[method] = out = _child("_agg", method, str(directory), str(count))
                if method not in results or out["seconds"] < results[method]["seconds"]:
                    results[method] = out
            this_round["read"] = out = _child("_read_floor", str(directory), str(count))
            results["read"] = min(results.get("read", out), out, key=lambda r: r["seconds"])
            this_round["cat"] = out = cat_floor(directory, count)
            results["cat"] = min(results.get("cat", out), out, key=lambda r: r["seconds"])
            per_round.append({
                "ours_vs_read": this_round["read"]["seconds"] / this_round["ours"]["seconds"],
                "ours_vs_read_cpu": this_round["read"]["cpu_seconds"] / this_round["ours"]["cpu_seconds"],
                "ours_vs_cat": this_round["cat"]["seconds"] / this_round["ours"]["seconds"],
            })
    params = sum(int(numpy.prod(s)) for s in SHAPES.values())
    report = {
        "models": count, "parameters": params, "model_mb": model_mb, "methods": methods, **results,
        "ours_vs_read_speed": results["read"]["seconds"] / results["ours"]["seconds"],
        "ours_vs_cat_speed": results["cat"]["seconds"] / results["ours"]["seconds"],
        "per_round": per_round,
        "ours_peak_models": results["ours"]["peak_mb"] / model_mb,
    }
    if "numpy" in results and "numpy-mmap" in results:
        report["ours_vs_numpy_speed"] = min(results["numpy"]["seconds"], results["numpy-mmap"]["seconds"]) / results["ours"]["seconds"]
    if "prototype" in results:
        report["ours_vs_prototype_speedup"] = results["prototype"]["seconds"] / results["ours"]["seconds"]
    for method in methods:
        report[f"{method.replace('-', '_')}_peak_models"] = results[method]["peak_mb"] / model_mb
    return report


# ---------------------------------------------------------------- driver


def _child(*args: str) -> Any:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=os.pathsep.join([str(CLIENT), str(ROOT)]))
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"bench step {args[0]} failed:\n{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def child_main(argv: list[str]) -> None:
    command, rest = argv[0], argv[1:]
    if command == "_a":
        out = part_a([int(v) for v in rest[0].split(",")], int(rest[1]), int(rest[2]), [int(v) for v in rest[3].split(",")])
    elif command == "_b":
        out = part_b(int(rest[0]), int(rest[1]), int(rest[2]))
    elif command == "_make":
        out = make_models(Path(rest[0]), int(rest[1]))
    elif command == "_keras_models":
        keras_models(Path(rest[0]), int(rest[1]))
        out = None
    elif command == "_read_floor":
        out = read_floor(Path(rest[0]), int(rest[1]))
    elif command == "_agg":
        fn = {"ours": agg_ours, "numpy": agg_numpy, "numpy-mmap": agg_numpy_mmap, "prototype": agg_prototype}[rest[0]]
        out = fn(Path(rest[1]), int(rest[2]))
    else:
        raise SystemExit(f"unknown step {command}")
    print(json.dumps(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="a,b,c")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--contributors", default="3,5")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--methods", default="ours,numpy,numpy-mmap,prototype", help="(c): aggregations to time; ours is always timed")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    report: dict[str, Any] = {}
    if "a" in parts:
        print("(a) federated vs centralized...", file=sys.stderr)
        report["a"] = _child("_a", args.contributors, str(args.rounds), str(args.epochs), args.seeds)
    if "b" in parts:
        print("(b) ours vs Flower...", file=sys.stderr)
        report["b"] = _child("_b", str(args.rounds), str(args.epochs), args.contributors.split(",")[0])
    if "c" in parts:
        print("(c) aggregation of large models...", file=sys.stderr)
        methods = ["ours", *[m for m in args.methods.split(",") if m and m != "ours"]]
        report["c"] = part_c(args.models, methods)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    if "a" in report:
        a = report["a"]
        print(f"(a) digits, IID, {a['rounds']} rounds x {a['local_epochs']} local epochs vs centralized {a['rounds'] * a['local_epochs']} epochs (torch MLP)")
        for row in a["rows"]:
            print(f"    {row['contributors']} contributors: federated {row['federated']:.2%}  centralized {row['centralized']:.2%}  gap {row['gap_points']:+.2f} points (mean of {row['seeds']} seeds)")
    if "b" in report:
        b = report["b"]
        o, f = b["ours"], b["flower"]
        print(f"(b) {b['contributors']} contributors, {b['rounds']} rounds x {b['local_epochs']} epochs, same model/shards/init")
        print(f"    ours:   accuracy {o['accuracy']:.2%}  round {o['round_seconds']*1000:.0f} ms  training {o['training_seconds']*1000:.0f} ms  overhead {o['overhead_seconds']*1000:.0f} ms (of which validation {o['validation_seconds']*1000:.0f} ms)")
        print(f"    Flower: accuracy {f['accuracy']:.2%}  round {f['round_seconds']*1000:.0f} ms  training (critical path) {f['training_seconds_critical_path']*1000:.0f} ms  overhead {f['overhead_seconds']*1000:.0f} ms")
    if "c" in report:
        c = report["c"]
        print(f"(c) FedAvg of {c['models']} models x {c['parameters']/1e6:.1f}M float32 ({c['model_mb']:.0f} MB each)")
        for method in c["methods"]:
            print(f"    {method:10s} {c[method]['seconds']:7.2f} s  peak +{c[method]['peak_mb']:.0f} MB ({c[method]['peak_mb']/c['model_mb']:.2f} x model)")
        print(f"    read       {c['read']['seconds']:7.2f} s  (page-cache read floor: read(2) of the same {c['read']['bytes']/2**20:.0f} MiB into a 128 KiB buffer, timed in-process like the aggregation)")
        print(f"    cat        {c['cat']['seconds']:7.2f} s  (`cat` of the same files to /dev/null, the whole process)")
        print(f"    ours at {c['ours_vs_read_speed']:.0%} of the read floor's speed, {c['ours_vs_cat_speed']:.0%} of cat's (goal >= 80 %);"
              f" per round (read/cat/read in CPU time, all threads): "
              + ", ".join(f"{r['ours_vs_read']:.0%}/{r['ours_vs_cat']:.0%}/{r['ours_vs_read_cpu']:.0%}" for r in c["per_round"])
              + f"; peak {c['ours_peak_models']:.2f} x model (goal <= 1.1 x)")
        if "ours_vs_numpy_speed" in c:
            print(f"    {c['ours_vs_numpy_speed']:.0%} of the faster NumPy baseline's speed")
        if "ours_vs_prototype_speedup" in c:
            print(f"    {c['ours_vs_prototype_speedup']:.0f}x faster than the prototype")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        child_main(sys.argv[1:])
    else:
        sys.exit(main())
