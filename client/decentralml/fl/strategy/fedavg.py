"""FedAvg: the mean of the updates weighted by their sample counts (McMahan et al., 2017)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from decentralml.errors import TrainingError
from decentralml.fl.aggregate import accumulate_weighted
from decentralml.fl.strategy.base import AggregateResult, Strategy, Update
from decentralml.fl.weights import ModelSpec, Weights


class FedAvg(Strategy):
    """Weighted average, streamed tensor by tensor.

    Each tensor is read from one update at a time, scaled in place by its
    sample count and added into the output buffer, which is divided by the
    total at the end. Peak memory: the output model (1x) plus one tensor of one
    update, whatever the number of updates. Accumulation is in the model's
    dtype (float32: relative error ~1e-7 per update).
    """

    name = "fedavg"
    memory = "O(model): the output buffer plus one tensor of one update"

    def _aggregate(self, updates: list[Update], spec: ModelSpec) -> AggregateResult:
        total = float(sum(u.num_samples for u in updates))
        out: Weights = {}
        for tensor in spec:
            acc: np.ndarray | None = None
            for update in updates:
                acc = accumulate_weighted(acc, update.model.read(tensor.name), update.num_samples)
            assert acc is not None
            acc /= acc.dtype.type(total)
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
