"""Krum and Multi-Krum (Blanchard et al., 2017): pick the update(s) closest to their neighbours."""

from __future__ import annotations

import numpy as np

from decentralml.errors import TrainingError
from decentralml.fl.aggregate import add_pairwise_sq_distances, krum_select
from decentralml.fl.strategy.base import AggregateResult, Strategy, Update, rows_per_chunk
from decentralml.fl.strategy.fedavg import FedAvg
from decentralml.fl.weights import ModelSpec


class Krum(Strategy):
    """Select the update whose n - f - 2 nearest neighbours are closest; with ``multi`` > 1,
    FedAvg of the ``multi`` best (Multi-Krum).

    Tolerates f Byzantine updates when n >= 2f + 3. ``byzantine=None`` picks the
    largest f with n >= f + 3. Memory: a k x k distance matrix plus
    ``budget_bytes`` of stacked chunks while measuring distances; then the
    selected update(s) are read once more (output model + one tensor).
    """

    name = "krum"
    memory = "k x k distances + budget_bytes of stacked chunks, then the output model"

    def __init__(self, byzantine: int | None = None, multi: int = 1, budget_bytes: int = 64 * 1024 * 1024) -> None:
        if byzantine is not None and byzantine < 0:
            raise TrainingError("Krum: the number of Byzantine updates must be >= 0.")
        if multi < 1:
            raise TrainingError("Multi-Krum must keep at least one update.")
        self.byzantine = byzantine
        self.multi = multi
        self.budget_bytes = budget_bytes

    def _aggregate(self, updates: list[Update], spec: ModelSpec) -> AggregateResult:
        n = len(updates)
        if n == 1:
            chosen = [0]
        else:
            f = self.byzantine if self.byzantine is not None else max(0, (n - 3) // 2)
            if n < f + 3:
                raise TrainingError(f"Krum with f={f} needs at least {f + 3} updates; got {n}. Use fedavg or median.")
            distances = np.zeros((n, n))
            for tensor in spec:
                if not tensor.shape:
                    add_pairwise_sq_distances(distances, np.stack([u.model.read(tensor.name) for u in updates]))
                    continue
                step = rows_per_chunk(tensor.shape, np.dtype(tensor.dtype).itemsize, n, self.budget_bytes)
                for start in range(0, tensor.shape[0], step):
                    stop = min(start + step, tensor.shape[0])
                    stack = np.stack([u.model.read_rows(tensor.name, start, stop) for u in updates])
                    add_pairwise_sq_distances(distances, stack)
            chosen = krum_select(distances, f, min(self.multi, n))
        picked = FedAvg()._aggregate([updates[i] for i in chosen], spec)
        return AggregateResult(picked.weights, self.name, tuple(sorted(chosen)))
