"""The creator's parameters for a federated task (read when the functions run, never from the environment)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

TRAINING_FIELDS = (
    "framework", "epochs", "batch_size", "learning_rate", "hidden_units", "num_features", "num_classes",
    "dataset", "shard_strategy", "dirichlet_alpha", "num_contributors", "test_fraction", "seed",
)


@dataclass(frozen=True)
class CreatorSettings:
    """Model, training, sharding and validation parameters of the task."""

    framework: str = "tensorflow"  # "tensorflow" (Keras) or "torch"
    epochs: int = 5  # local epochs per round
    batch_size: int = 32
    learning_rate: float = 0.005
    hidden_units: int = 64
    num_features: int = 64
    num_classes: int = 10
    dataset: str = "digits"  # "digits" (offline) or "mnist"
    shard_strategy: str = "iid"  # "iid" or "dirichlet"
    dirichlet_alpha: float = 0.5
    num_contributors: int = 3
    test_fraction: float = 0.25  # the creator's held-out share of the dataset
    seed: int = 0
    validation_threshold: float = 0.5  # minimum held-out accuracy for CustomAccept
    strategy: str = "fedavg"  # fedavg | median | trimmed-mean | krum
    rounds: int = 2
    model_name: str = "digits_mlp"
    contributor_bundle: str = "../model_contributor"  # relative to this bundle

    def training_fields(self) -> dict[str, object]:
        """The fields the contributor bundle's TrainingSettings takes."""
        values = asdict(self)
        return {k: values[k] for k in TRAINING_FIELDS}


def render(settings: CreatorSettings) -> str:
    """The source of a settings.py carrying ``settings`` (e.g. a copy of this bundle for another framework)."""
    template = open(__file__, encoding="utf-8").read().split("\nSETTINGS = ", 1)[0]
    values = ", ".join(f"{k}={v!r}" for k, v in asdict(settings).items())
    return f"{template}\nSETTINGS = CreatorSettings({values})\n"


SETTINGS = CreatorSettings()
