"""The creator's training parameters for this round (rendered by the creator when the task is created)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TrainingSettings:
    """How a contributor trains: the model, the optimiser and how its data shard is drawn."""

    framework: str = "tensorflow"  # "tensorflow" (Keras) or "torch"
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 0.005
    hidden_units: int = 64
    num_features: int = 64  # digits: 8x8 pixels
    num_classes: int = 10
    dataset: str = "digits"  # "digits" (offline, scikit-learn) or "mnist" (downloaded)
    shard_strategy: str = "iid"  # "iid" or "dirichlet" (label-skewed)
    dirichlet_alpha: float = 0.5
    num_contributors: int = 3
    test_fraction: float = 0.25
    seed: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def render(settings: TrainingSettings) -> str:
    """The source of a settings.py carrying ``settings`` (used by the creator to prepare a bundle)."""
    template = open(__file__, encoding="utf-8").read().split("\nSETTINGS = ", 1)[0]
    values = ", ".join(f"{k}={v!r}" for k, v in settings.to_dict().items())
    return f"{template}\nSETTINGS = TrainingSettings({values})\n"


SETTINGS = TrainingSettings()
