"""FedAvg: the mean of the updates weighted by their sample counts (McMahan et al., 2017)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from decentralml.errors import TrainingError
from decentralml.fl.aggregate import accumulate_weighted
from decentralml.fl.strategy.base import AggregateResult, Strategy, Update, raise_non_finite, read_rows_into, rows_per_chunk
from decentralml.fl.weights import ModelSpec, Weights


class FedAvg(Strategy):
    """Weighted average, streamed in chunks of rows.

    For each chunk of each tensor, every update's rows are read straight into
    a scratch buffer (or, for the first update, into the output), scaled in
    place by the update's sample count and added into the output, which is
    divided by the total at the end. Peak memory: the output model (1x) plus
    one ``chunk_bytes`` scratch buffer, whatever the number of updates.
    Accumulation is in the model's dtype (float32: relative error ~1e-7 per
    update). NaN/inf are caught on the output (any non-finite input makes it
    non-finite) and the offending update is then named.
    """

    name = "fedavg"
    memory = "O(model): the output buffer plus one chunk_bytes scratch buffer"

    def __init__(self, chunk_bytes: int = 8 * 1024 * 1024) -> None:
        self.chunk_bytes = chunk_bytes

    def _aggregate(self, updates: list[Update], spec: ModelSpec) -> AggregateResult:
        total = float(sum(u.num_samples for u in updates))
        out: Weights = {}
        for tensor in spec:
            dtype = np.dtype(tensor.dtype)
            acc = np.empty(tensor.shape, dtype=dtype)
            rows = acc.reshape(1, -1) if not tensor.shape else acc
            step = rows_per_chunk(rows.shape, dtype.itemsize, 1, self.chunk_bytes)
            scratch = np.empty((min(step, rows.shape[0]), *rows.shape[1:]), dtype=dtype)
            for start in range(0, rows.shape[0], step):
                stop = min(start + step, rows.shape[0])
                part, buf = rows[start:stop], scratch[: stop - start]
                for j, update in enumerate(updates):
                    target = part if j == 0 else buf
                    read_rows_into(update.model, tensor.name, target, start, scalar=not tensor.shape)
                    np.multiply(target, dtype.type(update.num_samples), out=target)
                    if j:
                        np.add(part, buf, out=part)
                if not np.isfinite(part).all():
                    raise_non_finite(updates, tensor.name)
            acc /= dtype.type(total)
            out[tensor.name] = acc
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
