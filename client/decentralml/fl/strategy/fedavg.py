"""FedAvg: the mean of the updates weighted by their sample counts (McMahan et al., 2017)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import numpy as np

from decentralml.errors import TrainingError
from decentralml.fl.aggregate import accumulate_weighted
from decentralml.fl.strategy.base import AggregateResult, Strategy, Update, element_reader, raise_non_finite
from decentralml.fl.weights import ModelSpec, Weights

MAX_DEFAULT_WORKERS = 4
#: The weighted sum across updates of more than one group is accumulated in this dtype (and
#: :class:`FedAvgAccumulator` accumulates in it).
ACCUMULATOR = np.dtype(np.float64)
#: Updates combined per pass over a block, in the compute dtype; larger rounds are summed group by group.
GROUP_SIZE = 16
#: At most this much of one update is read per block (a block of every update of a group fits in L2).
MAX_UPDATE_BLOCK_BYTES = 256 * 1024


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS reports it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a group's weighted sum is computed in: float64 for float64 models, float32 otherwise."""
    return np.dtype(np.float64) if dtype.itemsize > 4 else np.dtype(np.float32)


def error_bound(dtype: np.dtype, updates: int, group_size: int = GROUP_SIZE) -> float:
    """Bound on |FedAvg computed here - exact weighted mean|, per coordinate, relative to max_i |x_i|.

    Within a group of m updates, each share s_i = n_i / N is rounded to the compute dtype (unit
    roundoff u), multiplied and summed in order in that dtype: error <= gamma_(m+1) * sum_i s_i |x_i|
    with gamma_k = k u / (1 - k u) (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd
    ed., eq. 3.5); the G group sums are added in float64 (gamma64_G more, times 1 + gamma_(m+1)) and
    the result is rounded once to the model's dtype (its unit roundoff, relative to the result). As
    the shares sum to one, sum_i s_i |x_i| <= max_i |x_i|.
    """

    def gamma(k: int, unit: float) -> float:
        return k * unit / (1 - k * unit)

    m = max(1, min(updates, group_size))
    groups = -(-updates // max(1, group_size))
    within = gamma(m + 1, float(np.finfo(compute_dtype(dtype)).eps) / 2)
    across = gamma(groups, float(np.finfo(ACCUMULATOR).eps) / 2) * (1 + within) if groups > 1 else 0.0
    summed = within + across
    return summed + float(np.finfo(dtype).eps) / 2 * (1 + summed)


class FedAvg(Strategy):
    """Weighted average by sample counts, computed block by block in cache.

    Every tensor is cut into blocks of elements. For each block, the block of every update of a
    group (at most ``group_size`` updates) is read with ``preadv`` into one preallocated
    (updates, block) matrix that fits in L2 (at most ``MAX_UPDATE_BLOCK_BYTES`` per update and
    ``chunk_bytes`` in all), and combined in one pass, ``out = shares @ matrix``, with
    :func:`numpy.einsum` (single-threaded, releases the GIL; OpenBLAS ``gemv`` collapses when its
    own thread pool meets ours) straight into the output. With more than one group, each group's
    sum is added into a float64 accumulator of one work unit (``chunk_bytes / 2``) and the
    result cast once into the output. Work units are spread over ``workers`` threads (default:
    one per usable core, at most :data:`MAX_DEFAULT_WORKERS`); each holds the files of one group
    open while it reads its unit, so at most ``workers * group_size`` descriptors are open.

    Precision: shares n_i / N are divided first (so no product exceeds the value itself) and
    rounded to the compute dtype (float32 for float16 and float32 models, float64 for float64);
    a group's sum is accumulated in order in that dtype, groups in float64; the mean is cast
    once to the model's dtype. Per coordinate the error is at most
    ``error_bound(dtype, len(updates)) * max_i |x_i|``: for float32 and up to 16 updates,
    (m + 2) * 2**-24 <= 18 * 2**-24, about 1.1e-6 of the largest value (Flower's FedAvg
    accumulates in the input dtype too, with the products n_i * x_i unscaled). Each coordinate
    sees the same operations in the same order whatever the block, unit and worker count.

    Peak memory: the output model plus, per worker, the read matrix (``chunk_bytes``) and, with
    more than one group, a ``chunk_bytes / 2`` float64 accumulator, whatever the number of updates.
    The output is checked for NaN/inf block by block; the offending update is named (a mean that
    does not fit the dtype is reported, not saved).
    """

    name = "fedavg"
    memory = "O(model): the output plus a chunk_bytes read matrix (and a chunk_bytes / 2 accumulator) per worker"

    def __init__(self, chunk_bytes: int = 2 * 1024 * 1024, workers: int | None = None, group_size: int = GROUP_SIZE) -> None:
        if chunk_bytes < 1 or group_size < 1:
            raise TrainingError("FedAvg needs chunk_bytes >= 1 and group_size >= 1.")
        self.chunk_bytes = chunk_bytes
        self.workers = workers if workers is not None else min(MAX_DEFAULT_WORKERS, usable_cores())
        self.group_size = group_size

    def _aggregate(self, updates: list[Update], spec: ModelSpec) -> AggregateResult:
        total = float(sum(u.num_samples for u in updates))
        groups = [list(range(i, min(i + self.group_size, len(updates)))) for i in range(0, len(updates), self.group_size)]
        rows = len(groups[0])
        out: Weights = {}
        jobs: list[tuple[str, np.ndarray, int, int, int]] = []
        for tensor in spec:
            result = np.empty(tensor.shape, dtype=np.dtype(tensor.dtype))
            out[tensor.name] = result
            flat = result.reshape(-1)
            itemsize = flat.dtype.itemsize
            block = max(1, min(MAX_UPDATE_BLOCK_BYTES, self.chunk_bytes // rows) // itemsize)
            if len(groups) > 1:  # the unit's float64 accumulator: chunk_bytes / 2
                unit = block * max(1, self.chunk_bytes // 2 // ACCUMULATOR.itemsize // block)
            else:
                unit = block * 16
            jobs.extend((tensor.name, flat, block, a, min(a + unit, flat.size)) for a in range(0, flat.size, unit))
        # divided first: every term is at most the value itself
        shares = {dtype: [np.array([updates[i].num_samples / total for i in group], dtype=dtype) for group in groups]
                  for dtype in {compute_dtype(np.dtype(t.dtype)) for t in spec}}
        local = threading.local()

        def scratch(role: str, dtype: np.dtype, size: int) -> np.ndarray:
            key = f"{role}-{dtype}"
            buffer = getattr(local, key, None)
            if buffer is None or buffer.size < size:
                buffer = np.empty(size, dtype=dtype)
                setattr(local, key, buffer)
            return buffer[:size]

        def run(job: tuple[str, np.ndarray, int, int, int]) -> None:
            name, flat, block, start, stop = job
            dtype, compute = flat.dtype, compute_dtype(flat.dtype)
            matrix = scratch("matrix", dtype, rows * block).reshape(rows, block)
            direct = len(groups) == 1 and dtype == compute
            term = None if direct else scratch("term", compute, block)
            acc = scratch("acc", ACCUMULATOR, stop - start) if len(groups) > 1 else None
            for g, group in enumerate(groups):
                with ExitStack() as files:
                    readers = [files.enter_context(element_reader(updates[i].model)) for i in group]
                    for a in range(start, stop, block):
                        n = min(block, stop - a)
                        for j, read in enumerate(readers):
                            read(name, matrix[j, :n], a)
                        dst = flat[a : a + n] if term is None else term[:n]
                        np.einsum("j,jb->b", shares[compute][g], matrix[: len(group), :n], out=dst, dtype=compute)
                        if acc is not None:
                            part = acc[a - start : a - start + n]
                            if g == 0:
                                np.copyto(part, dst)
                            else:
                                np.add(part, dst, out=part)
                            continue
                        if term is not None:
                            np.copyto(flat[a : a + n], dst, casting="same_kind")  # cast back once
                        if not np.isfinite(flat[a : a + n]).all():
                            raise_non_finite(updates, name)
            if acc is not None:
                np.copyto(flat[start:stop], acc, casting="same_kind")  # cast back once
                if not np.isfinite(flat[start:stop]).all():
                    raise_non_finite(updates, name)

        if self.workers == 1 or len(jobs) <= 1:
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
