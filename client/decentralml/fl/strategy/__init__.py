"""Aggregation strategies, one module per rule, and a name -> strategy factory."""

from __future__ import annotations

from decentralml.errors import UsageError
from decentralml.fl.strategy.base import AggregateResult, InMemoryModel, ModelSource, Strategy, Update
from decentralml.fl.strategy.fedavg import FedAvg, FedAvgAccumulator
from decentralml.fl.strategy.krum import Krum
from decentralml.fl.strategy.median import Median
from decentralml.fl.strategy.trimmed_mean import TrimmedMean

STRATEGIES: dict[str, type[Strategy]] = {
    FedAvg.name: FedAvg,
    Median.name: Median,
    TrimmedMean.name: TrimmedMean,
    Krum.name: Krum,
}


def strategy_by_name(name: str) -> Strategy:
    """The strategy registered under ``name`` with its default parameters."""
    try:
        return STRATEGIES[name]()
    except KeyError:
        raise UsageError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.") from None


__all__ = [
    "AggregateResult",
    "FedAvg",
    "FedAvgAccumulator",
    "InMemoryModel",
    "Krum",
    "Median",
    "ModelSource",
    "STRATEGIES",
    "Strategy",
    "TrimmedMean",
    "Update",
    "strategy_by_name",
]
