"""FedAvg: the mean of the updates weighted by their sample counts (McMahan et al., 2017)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from decentralml.errors import TrainingError
from decentralml.fl.aggregate import accumulate_weighted, add_scaled, scale_in_place
from decentralml.fl.strategy.base import AggregateResult, Strategy, Update, raise_non_finite, read_rows_into, rows_per_chunk
from decentralml.fl.weights import ModelSpec, TensorSpec, Weights


MAX_DEFAULT_WORKERS = 4


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS reports it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


class FedAvg(Strategy):
    """Weighted average, streamed in chunks of rows.

    For each chunk of each tensor, every update's rows are read straight into
    a scratch buffer (or, for the first update, into the output), scaled in
    place by the update's sample count and added into the output, which is
    divided by the total. Peak memory: the output model (1x) plus one
    ``chunk_bytes`` scratch buffer (2 MB, about an L2 cache) per worker,
    whatever the number of updates. Chunks are spread over ``workers`` threads
    (NumPy and ``preadv`` release the GIL); the default is one per usable core,
    at most :data:`MAX_DEFAULT_WORKERS` (memory bandwidth is saturated by then;
    timings are in the README's benchmark table, ``scripts/bench_fl.py``). Accumulation is in the model's dtype (float32:
    relative error ~1e-7 per update). NaN/inf are caught on the output (any
    non-finite input makes it non-finite) and the offending update is named.
    """

    name = "fedavg"
    memory = "O(model): the output buffer plus one chunk_bytes scratch buffer per worker thread"

    def __init__(self, chunk_bytes: int = 2 * 1024 * 1024, workers: int | None = None) -> None:
        self.chunk_bytes = chunk_bytes
        self.workers = workers if workers is not None else min(MAX_DEFAULT_WORKERS, usable_cores())

    def _aggregate(self, updates: list[Update], spec: ModelSpec) -> AggregateResult:
        total = float(sum(u.num_samples for u in updates))
        out: Weights = {}
        jobs: list[tuple[TensorSpec, np.ndarray, int, int]] = []
        for tensor in spec:
            acc = np.empty(tensor.shape, dtype=np.dtype(tensor.dtype))
            out[tensor.name] = acc
            rows = acc.reshape(1, -1) if not tensor.shape else acc
            step = rows_per_chunk(rows.shape, acc.dtype.itemsize, 1, self.chunk_bytes)
            jobs.extend((tensor, rows, start, min(start + step, rows.shape[0])) for start in range(0, rows.shape[0], step))
        local = threading.local()

        def run(job: tuple[TensorSpec, np.ndarray, int, int]) -> None:
            tensor, rows, start, stop = job
            part = rows[start:stop]
            scratch = getattr(local, "scratch", None)
            if scratch is None or scratch.nbytes < part.nbytes:
                scratch = local.scratch = np.empty(max(part.nbytes, self.chunk_bytes), dtype=np.uint8)
            buf = scratch[: part.nbytes].view(part.dtype).reshape(part.shape)
            for j, update in enumerate(updates):
                target = part if j == 0 else buf
                read_rows_into(update.model, tensor.name, target, start, scalar=not tensor.shape)
                if j == 0:
                    scale_in_place(part, update.num_samples)
                else:
                    add_scaled(part, buf, update.num_samples)
            if not np.isfinite(part).all():
                raise_non_finite(updates, tensor.name)
            np.divide(part, part.dtype.type(total), out=part)

        if self.workers == 1 or len(jobs) == 1:
            for job in jobs:
                run(job)
        else:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                for future in [pool.submit(run, job) for job in jobs]:
                    future.result()
        return AggregateResult(out, self.name, tuple(range(len(updates))))


class FedAvgAccumulator:
    """FedAvg for updates that arrive one at a time (e.g. while downloading).

    Holds one accumulator model; each :meth:`add` consumes the given arrays.
    """

    def __init__(self) -> None:
        self._acc: Weights | None = None
        self._total = 0
        self.count = 0

    def add(self, weights: Mapping[str, np.ndarray], num_samples: int) -> None:
        if num_samples <= 0:
            raise TrainingError("An update must report a positive number of samples.")
        if self._acc is None:
            self._acc = {}
            for name, tensor in weights.items():
                self._acc[name] = accumulate_weighted(None, np.array(tensor, copy=True), num_samples)
        else:
            if set(weights) != set(self._acc):
                raise TrainingError("Update tensors differ from the first update's.")
            for name, tensor in weights.items():
                if tensor.shape != self._acc[name].shape:
                    raise TrainingError(f"Tensor {name!r} changed shape between updates.")
                accumulate_weighted(self._acc[name], np.array(tensor, copy=True), num_samples)
        self._total += num_samples
        self.count += 1

    def result(self) -> Weights:
        if self._acc is None:
            raise TrainingError("No update was added.")
        return {k: v / v.dtype.type(self._total) for k, v in self._acc.items()}
