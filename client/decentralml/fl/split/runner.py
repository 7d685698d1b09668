"""What a split-learning bundle runs: file in, file out (called by ``assets/split_learning``).

A bundle holds ``config.json`` (:class:`BundleConfig`: protocol, network
spec, training hyper-parameters). A contribution reads a starting checkpoint
(the task's base model, or the previous turn's result in round robin) and a
private CSV, and writes a result directory with ``weights.safetensors`` and
``metrics.json``. The initiator's step reads the participants' result
directories instead and writes the main model the same way.

No keys are handled here: signing the lineage is the contributor's client's
job, never the bundle's (the bundle is the creator's code).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from decentralml.errors import IntegrityError, UsageError
from decentralml.fl.split import weights
from decentralml.fl.split.data import read_csv
from decentralml.fl.split.model import SplitSpec
from decentralml.fl.split.train import TrainConfig

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"
METRICS_FILE = "metrics.json"


class Protocol(str, enum.Enum):
    """The two split-learning protocols."""

    INITIATOR = "initiator"  # initiator/participants: participants return server halves, the initiator aggregates
    ROUND_ROBIN = "round_robin"  # round robin: contributors take turns from the previous turn's weights


@dataclass(frozen=True)
class BundleConfig:
    """A split task's configuration: protocol, network and training."""

    protocol: Protocol
    spec: SplitSpec
    train: TrainConfig

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol.value, "spec": self.spec.to_dict(), "train": self.train.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "BundleConfig":
        try:
            protocol = Protocol(data["protocol"])
            return cls(protocol=protocol, spec=SplitSpec.from_dict(data["spec"]), train=TrainConfig.from_dict(data["train"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise UsageError(f"Split bundle config is malformed ({exc}): see docs/split-learning.md.") from exc


def load_config(bundle: Path) -> BundleConfig:
    """Read ``config.json`` from a bundle directory (or the file itself)."""
    path = Path(bundle)
    path = path / CONFIG_FILE if path.is_dir() else path
    try:
        return BundleConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise UsageError(f"{path} does not exist: a split bundle needs a {CONFIG_FILE}.") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}).") from exc


def write_config(bundle: Path, config: BundleConfig) -> Path:
    path = Path(bundle) / CONFIG_FILE
    path.write_text(json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _load_data(config: BundleConfig, data: Path) -> tuple[Any, Any]:
    spec = config.spec
    return read_csv(data, features=spec.in_features, image_size=spec.image_size)


def _prepare_output(output: Path) -> Path:
    output = Path(output)
    if output.exists() and any(output.iterdir()):
        raise UsageError(f"{output} is not empty: choose a fresh output directory.")
    output.mkdir(parents=True, exist_ok=True)
    return output


def _write_result(output: Path, checkpoint: weights.Checkpoint, metrics: dict[str, Any]) -> dict[str, Any]:
    weights.write(output / WEIGHTS_FILE, checkpoint)
    (output / METRICS_FILE).write_text(json.dumps(metrics, sort_keys=True) + "\n", encoding="utf-8")
    return metrics


def _metrics(config: BundleConfig, log: Sequence[Any], samples: int) -> dict[str, Any]:
    import torch

    return {
        "protocol": config.protocol.value,
        "samples": samples,
        "epochs": len(log),
        "train_loss": round(log[-1].loss, 6),
        "train_accuracy": round(log[-1].accuracy, 6),
        "loss_per_epoch": [round(entry.loss, 6) for entry in log],
        "framework": f"torch {torch.__version__}",
    }


def run_contribution(config: BundleConfig, start: Path, data: Path, output: Path) -> dict[str, Any]:
    """A participant's (initiator/participants) or a turn's (round robin) step; returns the metrics written."""
    from decentralml.fl.split import protocols

    output = _prepare_output(output)
    checkpoint = weights.read(start)
    inputs, labels = _load_data(config, data)
    if config.protocol == Protocol.INITIATOR:
        outcome = protocols.participant_step(config.spec, config.train, checkpoint, inputs, labels)
    else:
        outcome = protocols.round_robin_turn(config.spec, config.train, checkpoint, inputs, labels)
    return _write_result(output, outcome.checkpoint, _metrics(config, outcome.log, len(labels)))


def check_result(config: BundleConfig, path: Path) -> weights.Checkpoint:
    """Read a contributor's result and check it fits the task before anyone trains on it.

    The network spec must be the task's; the parts must be those the
    protocol returns (server half + optimiser state; round robin also the
    client half) with the network's tensor names and shapes; every value
    finite; the sample count positive. Failures are IntegrityErrors.
    """
    import torch

    from decentralml.fl.split.model import build_halves

    path = Path(path)
    checkpoint = weights.read(path / WEIGHTS_FILE if path.is_dir() else path)
    if checkpoint.spec != config.spec:
        raise IntegrityError("The result was trained on another network than the task's: refuse it.")
    if checkpoint.samples < 1:
        raise IntegrityError("The result claims no training samples: refuse it.")
    client_model, server_model = build_halves(config.spec)
    expected = {"server": server_model.state_dict()}
    if config.protocol == Protocol.ROUND_ROBIN:
        expected["client"] = client_model.state_dict()
    for part, reference in expected.items():
        tensors = checkpoint.part(part)
        if set(tensors) != set(reference) or any(tensors[k].shape != reference[k].shape for k in reference):
            raise IntegrityError(f"The result's {part} half does not fit the task's network: refuse it.")
    checkpoint.part("server_opt")
    for half in checkpoint.tensors.values():
        for tensor in half.values():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise IntegrityError("The result holds NaN or infinite values: refuse it.")
    return checkpoint


def run_initiator(
    config: BundleConfig,
    base: Path,
    results: Sequence[Path],
    data: Path,
    output: Path,
    test: Path | None = None,
    strategy: str = "fedavg",
) -> dict[str, Any]:
    """The initiator's step: aggregate the participants' server halves (``strategy``), train the main model on ``data``."""
    from decentralml.fl.split import protocols

    if config.protocol != Protocol.INITIATOR:
        raise UsageError("Only initiator/participant tasks are aggregated; round-robin results chain instead.")
    if not results:
        raise UsageError("No participant results to aggregate: wait for submissions.")
    output = _prepare_output(output)
    initial = weights.read(base)
    participants = [weights.read(Path(r) / WEIGHTS_FILE if Path(r).is_dir() else Path(r)) for r in results]
    aggregated = protocols.aggregate_server_halves(participants, strategy)
    inputs, labels = _load_data(config, data)
    outcome = protocols.initiator_step(config.spec, config.train, initial, aggregated, inputs, labels)
    metrics = _metrics(config, outcome.log, len(labels))
    metrics["participants"] = len(participants)
    metrics["strategy"] = strategy
    metrics["participant_samples"] = [p.samples for p in participants]
    if test is not None:
        metrics.update(evaluate_file(outcome.checkpoint, config, test))
    return _write_result(output, outcome.checkpoint, metrics)


def evaluate_file(checkpoint: weights.Checkpoint, config: BundleConfig, test: Path) -> dict[str, Any]:
    """``{"test_accuracy", "test_loss"}`` of a full checkpoint on a CSV."""
    from decentralml.fl.split import protocols

    inputs, labels = _load_data(config, test)
    accuracy, loss = protocols.evaluate_checkpoint(checkpoint, inputs, labels)
    return {"test_accuracy": round(accuracy, 6), "test_loss": round(loss, 6), "test_samples": int(len(labels))}


def write_base_model(config: BundleConfig, path: Path) -> Path:
    """The task's base model: both halves freshly initialised from the spec's seed."""
    from decentralml.fl.split import protocols

    weights.write(Path(path), protocols.initial_checkpoint(config.spec))
    return Path(path)
