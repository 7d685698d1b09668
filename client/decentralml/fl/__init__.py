"""Federated learning on NumPy arrays: weights exchange, aggregation strategies, data shards, validation.

Framework code (TensorFlow, PyTorch) lives in the asset bundles and is imported
lazily; nothing here imports a deep-learning framework.
"""

from decentralml.fl.strategy import (
    AggregateResult,
    FedAvg,
    FedAvgAccumulator,
    InMemoryModel,
    Krum,
    Median,
    Strategy,
    TrimmedMean,
    Update,
    strategy_by_name,
)
from decentralml.fl.validation import Evaluation, ValidationReport, validate_contribution
from decentralml.fl.weights import (
    ContributionMetrics,
    SafetensorsModel,
    Weights,
    load_result,
    load_result_dir,
    load_weights,
    save_weights,
)

__all__ = [
    "AggregateResult",
    "ContributionMetrics",
    "Evaluation",
    "FedAvg",
    "FedAvgAccumulator",
    "InMemoryModel",
    "Krum",
    "Median",
    "SafetensorsModel",
    "Strategy",
    "TrimmedMean",
    "Update",
    "ValidationReport",
    "Weights",
    "load_result",
    "load_result_dir",
    "load_weights",
    "save_weights",
    "strategy_by_name",
    "validate_contribution",
]
