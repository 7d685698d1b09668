"""Coordinate-wise trimmed mean (Yin et al., 2018)."""

from __future__ import annotations

import numpy as np

from decentralml.fl.aggregate import trim_count, trimmed_mean
from decentralml.fl.strategy.base import AggregateResult, StackingStrategy, Update
from decentralml.fl.weights import ModelSpec


class TrimmedMean(StackingStrategy):
    """Drop the ceil(beta*k) largest and smallest values of each coordinate, average the rest.

    Peak memory as :class:`~decentralml.fl.strategy.median.Median`: output
    model plus ``budget_bytes`` of stacked chunks (and one sorted copy of a chunk).
    """

    name = "trimmed-mean"
    memory = "output model + budget_bytes of stacked chunks (k x chunk) + sort scratch"

    def __init__(self, beta: float = 0.2, budget_bytes: int = 64 * 1024 * 1024) -> None:
        super().__init__(budget_bytes)
        trim_count(10, beta)  # validates beta
        self.beta = beta
        self._trim = 0

    def _aggregate(self, updates: list[Update], spec: ModelSpec) -> AggregateResult:
        self._trim = trim_count(len(updates), self.beta)
        return super()._aggregate(updates, spec)

    def _combine(self, stack: np.ndarray) -> np.ndarray:
        return trimmed_mean(stack, self._trim)
