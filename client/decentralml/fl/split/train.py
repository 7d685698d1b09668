"""Training and evaluation loops for split networks (and the unsplit baseline)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from decentralml.errors import TrainingError, UsageError
from decentralml.fl.split.model import MAX_SEED
from decentralml.fl.split.step import ClientHalf, ServerHalf, split_step
from decentralml.primitives.scale import U32_MAX

#: The largest SGD learning rate a configuration may ask for (a rate above it only diverges).
MAX_LR = Decimal(10)


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; decimals are strings so they hash canonically into lineage."""

    epochs: int = 20
    batch_size: int = 32
    lr: str = "0.05"
    momentum: str = "0.9"
    seed: int = 0

    def __post_init__(self) -> None:
        if not (1 <= self.epochs <= U32_MAX and 1 <= self.batch_size <= U32_MAX):
            raise UsageError(f"Training needs 1..{U32_MAX} epochs and a batch size of 1..{U32_MAX}.")
        if not 0 <= self.seed <= MAX_SEED:
            raise UsageError(f"The training seed {self.seed} is not in 0..{MAX_SEED}.")
        lr = self._decimal("lr")
        if not 0 <= lr <= MAX_LR:
            raise UsageError(f"The learning rate must be at least 0 and at most {MAX_LR}, not {self.lr}.")
        momentum = self._decimal("momentum")
        if not 0 <= momentum < 1:
            raise UsageError(f"The momentum must be at least 0 and less than 1, not {self.momentum}.")

    def _decimal(self, name: str) -> Decimal:
        """Field ``name`` as a finite Decimal; UsageError for anything else (``nan``, ``inf``, not a number)."""
        text = getattr(self, name)
        try:
            value = Decimal(text)
        except (InvalidOperation, TypeError, ValueError):
            value = Decimal("nan")
        if not value.is_finite():
            raise UsageError(f"Training {name} must be a finite decimal number, not {text!r}.")
        return value

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        known = {k: data[k] for k in ("epochs", "batch_size", "lr", "momentum", "seed") if k in data}
        try:
            values: dict[str, Any] = {k: (str(v) if k in ("lr", "momentum") else int(v)) for k, v in known.items()}
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"Training configuration is malformed ({exc}).") from exc


@dataclass(frozen=True)
class EpochLog:
    epoch: int
    loss: float
    accuracy: float


def make_optimizer(module: Any, config: TrainConfig) -> Any:
    """SGD with momentum."""
    import torch

    return torch.optim.SGD(module.parameters(), lr=float(config.lr), momentum=float(config.momentum))


def _batches(count: int, config: TrainConfig, epoch: int) -> list[Any]:
    import torch

    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
    order = torch.randperm(count, generator=generator)
    return [order[i : i + config.batch_size] for i in range(0, count, config.batch_size)]


def train_split(client: ClientHalf, server: ServerHalf, inputs: Any, labels: Any, config: TrainConfig) -> list[EpochLog]:
    """Train both halves across the cut for ``config.epochs``; one log entry per epoch."""
    client.model.train()
    server.model.train()
    logs = []
    for epoch in range(config.epochs):
        total_loss, correct = 0.0, 0
        for batch in _batches(len(labels), config, epoch):
            loss, hits = split_step(client, server, inputs[batch], labels[batch])
            total_loss += loss * len(batch)
            correct += hits
        mean_loss = total_loss / len(labels)
        if not math.isfinite(mean_loss):
            raise TrainingError("Split training diverged (loss is not finite): lower the learning rate.")
        logs.append(EpochLog(epoch=epoch, loss=mean_loss, accuracy=correct / len(labels)))
    return logs


def train_unsplit(network: Any, inputs: Any, labels: Any, config: TrainConfig) -> list[EpochLog]:
    """The baseline: the same network, one optimiser, ordinary backward, same batches."""
    from torch import nn

    optimizer = make_optimizer(network, config)
    loss_fn = nn.CrossEntropyLoss()
    network.train()
    logs = []
    for epoch in range(config.epochs):
        total_loss, correct = 0.0, 0
        for batch in _batches(len(labels), config, epoch):
            optimizer.zero_grad()
            outputs = network(inputs[batch])
            loss = loss_fn(outputs, labels[batch])
            loss.backward()
            optimizer.step()
            total_loss += float(loss.item()) * len(batch)
            correct += int((outputs.argmax(dim=1) == labels[batch]).sum().item())
        logs.append(EpochLog(epoch=epoch, loss=total_loss / len(labels), accuracy=correct / len(labels)))
    return logs


def evaluate(client_model: Any, server_model: Any, inputs: Any, labels: Any) -> tuple[float, float]:
    """``(accuracy, mean loss)`` of the two halves chained on a data set."""
    import torch
    from torch import nn

    client_model.eval()
    server_model.eval()
    with torch.no_grad():
        outputs = server_model(client_model(inputs))
        loss = float(nn.CrossEntropyLoss()(outputs, labels).item())
        accuracy = float((outputs.argmax(dim=1) == labels).float().mean().item())
    return accuracy, loss
