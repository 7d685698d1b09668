"""Federated learning on NumPy arrays: weights exchange, aggregation strategies, data shards, validation.

Framework code (TensorFlow, PyTorch) lives in the asset bundles and is imported
lazily; nothing here imports a deep-learning framework.
"""

from decentralml.primitives.lazy import lazy_attributes

#: Where each public name lives: imported on first use, so that importing a submodule such as
#: :mod:`decentralml.fl.framework_logs` (every CLI run) does not load NumPy and the strategies.
_HOME = {
    **dict.fromkeys(
        ("AggregateResult", "FedAvg", "FedAvgAccumulator", "InMemoryModel", "Krum", "Median", "Strategy",
         "TrimmedMean", "Update", "strategy_by_name"),
        "decentralml.fl.strategy",
    ),
    **dict.fromkeys(("Evaluation", "ValidationReport", "validate_contribution"), "decentralml.fl.validation"),
    **dict.fromkeys(
        ("ContributionMetrics", "SafetensorsModel", "Weights", "load_result", "load_result_dir", "load_weights",
         "save_weights"),
        "decentralml.fl.weights",
    ),
}


__getattr__ = lazy_attributes(__name__, _HOME)


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
