"""FedAvg: the mean of the updates weighted by their sample counts (McMahan et al., 2017)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from decentralml.errors import TrainingError
from decentralml.fl.aggregate import accumulate_weighted
from decentralml.fl.strategy.base import AggregateResult, Strategy, Update, raise_non_finite, read_rows_into, rows_per_chunk
from decentralml.fl.weights import ModelSpec, TensorSpec, Weights

MAX_DEFAULT_WORKERS = 4
#: Every weighted sum is accumulated in this dtype, whatever the model's.
ACCUMULATOR = np.dtype(np.float64)


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
    timings are in the README's benchmark table, ``scripts/bench_fl.py``). Whatever the model's dtype (float16, float32,
    float64), each update is scaled by its share of the samples (n_i / total,
    divided first, so no product exceeds the value itself), summed in a
    float64 chunk, cast back to the model's dtype once and only then checked
    for NaN/inf (so sample counts cannot overflow a float16 model, and a mean
    that does not fit the dtype is reported, not saved); the offending update
    is named.
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
            step = rows_per_chunk(rows.shape, ACCUMULATOR.itemsize, 2, self.chunk_bytes)
            jobs.extend((tensor, rows, start, min(start + step, rows.shape[0])) for start in range(0, rows.shape[0], step))
        local = threading.local()

        def scratch(name: str, nbytes: int) -> np.ndarray:
            buffer = getattr(local, name, None)
            if buffer is None or buffer.nbytes < nbytes:
                buffer = np.empty(max(nbytes, self.chunk_bytes), dtype=np.uint8)
                setattr(local, name, buffer)
            return buffer

        shares = [u.num_samples / total for u in updates]  # divided first: every term is at most the value itself

        def run(job: tuple[TensorSpec, np.ndarray, int, int]) -> None:
            tensor, rows, start, stop = job
            part = rows[start:stop]
            wide = part.size * ACCUMULATOR.itemsize
            buf = scratch("read", part.nbytes)[: part.nbytes].view(part.dtype).reshape(part.shape)
            acc = scratch("acc", wide)[:wide].view(ACCUMULATOR).reshape(part.shape)
            # float32/float64: the product in the model's dtype (relative error 2**-24 at worst), summed in
            # float64; float16 (11-bit mantissa, underflows below 6e-8): the product in float64 too.
            narrow = part.dtype.itemsize < 4
            term = scratch("term", wide)[:wide].view(ACCUMULATOR).reshape(part.shape) if narrow else buf
            for j, (update, share) in enumerate(zip(updates, shares)):
                read_rows_into(update.model, tensor.name, buf, start, scalar=not tensor.shape)
                if j == 0:
                    np.multiply(buf, ACCUMULATOR.type(share), out=acc)
                    continue
                np.multiply(buf, (ACCUMULATOR if narrow else part.dtype).type(share), out=term)
                np.add(acc, term, out=acc)
            np.copyto(part, acc, casting="same_kind")  # cast back once
            if not np.isfinite(part).all():
                raise_non_finite(updates, tensor.name)

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

    Holds one float64 accumulator model; :meth:`result` divides and casts back to each tensor's dtype.
    """

    def __init__(self) -> None:
        self._acc: Weights | None = None
        self._dtypes: dict[str, np.dtype] = {}
        self._total = 0
        self.count = 0

    def add(self, weights: Mapping[str, np.ndarray], num_samples: int) -> None:
        if num_samples <= 0:
            raise TrainingError("An update must report a positive number of samples.")
        if self._acc is None:
            self._acc = {}
            self._dtypes = {name: np.asarray(tensor).dtype for name, tensor in weights.items()}
            for name, tensor in weights.items():
                self._acc[name] = accumulate_weighted(None, np.array(tensor, dtype=ACCUMULATOR), num_samples)
        else:
            if set(weights) != set(self._acc):
                raise TrainingError("Update tensors differ from the first update's.")
            for name, tensor in weights.items():
                if tensor.shape != self._acc[name].shape:
                    raise TrainingError(f"Tensor {name!r} changed shape between updates.")
                accumulate_weighted(self._acc[name], np.array(tensor, dtype=ACCUMULATOR), num_samples)
        self._total += num_samples
        self.count += 1

    def result(self) -> Weights:
        if self._acc is None:
            raise TrainingError("No update was added.")
        return {k: (v / ACCUMULATOR.type(self._total)).astype(self._dtypes[k]) for k, v in self._acc.items()}
