"""The two split-learning protocols as local compute steps over checkpoints.

Initiator/participants: every participant starts from the task's
initial checkpoint, trains the split network on its private shard and
returns only the server half with its optimiser state (its client half, fit
to its own data, stays with it); the initiator averages the server halves
weighted by sample counts and trains the main model (its own client half
plus the aggregated server half) on its own shard.

Round robin: contributors take turns; each starts from the
previous turn's client half (and the server half and server optimiser that
travel with it, since no party holds the server permanently), trains on its
shard with a fresh client optimiser, and publishes the result for the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from decentralml.errors import TrainingError
from decentralml.fl.split.aggregate import weighted_average
from decentralml.fl.split.model import SplitSpec, build_halves
from decentralml.fl.split.step import ClientHalf, ServerHalf
from decentralml.fl.split.train import EpochLog, TrainConfig, evaluate, make_optimizer, train_split
from decentralml.fl.split.weights import Checkpoint, load_optimizer, optimizer_tensors


@dataclass(frozen=True)
class StepOutcome:
    """A protocol step's output checkpoint and its training log."""

    checkpoint: Checkpoint
    log: tuple[EpochLog, ...]


def initial_checkpoint(spec: SplitSpec) -> Checkpoint:
    """Both halves freshly initialised from ``spec.seed`` (the task's base model)."""
    client, server = build_halves(spec)
    return Checkpoint(spec=spec, tensors={"client": dict(client.state_dict()), "server": dict(server.state_dict())})


def _halves(spec: SplitSpec, checkpoint: Checkpoint, config: TrainConfig, *, server_from: Checkpoint | None = None):
    from torch import nn

    if checkpoint.spec != spec:
        raise TrainingError("The checkpoint was made for another network spec: use the task's own base model.")
    client_model, server_model = build_halves(spec)
    client_model.load_state_dict(checkpoint.part("client"))
    source = server_from or checkpoint
    server_model.load_state_dict(source.part("server"))
    client_opt, server_opt = make_optimizer(client_model, config), make_optimizer(server_model, config)
    if "server_opt" in source.tensors:
        load_optimizer(server_opt, source.part("server_opt"), source.param_groups.get("server_opt"))
    return ClientHalf(client_model, client_opt), ServerHalf(server_model, server_opt, nn.CrossEntropyLoss())


def _checkpoint(spec: SplitSpec, client: ClientHalf, server: ServerHalf, samples: int, *, keep_client: bool) -> Checkpoint:
    server_opt, server_groups = optimizer_tensors(server.optimizer)
    tensors: dict[str, Any] = {"server": dict(server.model.state_dict()), "server_opt": server_opt}
    if keep_client:
        tensors["client"] = dict(client.model.state_dict())
    return Checkpoint(spec=spec, tensors=tensors, samples=samples, param_groups={"server_opt": server_groups})


def participant_step(spec: SplitSpec, config: TrainConfig, initial: Checkpoint, inputs: Any, labels: Any) -> StepOutcome:
    """An initiator/participants participant: train on the private shard, return the server half and its optimiser state."""
    client, server = _halves(spec, initial, config)
    log = train_split(client, server, inputs, labels, config)
    return StepOutcome(_checkpoint(spec, client, server, len(labels), keep_client=False), tuple(log))


def aggregate_server_halves(results: Sequence[Checkpoint], strategy: str = "fedavg") -> Checkpoint:
    """Aggregate the participants' server halves and server optimiser states.

    ``fedavg`` (default): average weighted by sample counts, each bounded by
    2x the median count (:func:`decentralml.fl.weighting.bound_sample_counts`) and
    summed in float64. The
    robust rules of :mod:`decentralml.fl.strategy` (``median``,
    ``trimmed-mean``, ``krum``) ignore the self-reported sample counts; each
    sees a participant's server half and optimiser state as one update, so
    Krum keeps them together.
    """
    import torch

    if not results:
        raise TrainingError("No participant results to aggregate.")
    spec = results[0].spec
    if any(r.spec != spec for r in results):
        raise TrainingError("Participant results were trained on different network specs.")
    parts = [part for part in ("server", "server_opt") if all(part in r.tensors for r in results)]
    from decentralml.fl.weighting import bound_sample_counts

    counts = bound_sample_counts([r.samples for r in results])  # self-reported: at most 2x the median
    flat = [
        ({f"{part}.{k}": v.numpy() for part in parts for k, v in r.part(part).items()}, c.used)
        for r, c in zip(results, counts)
    ]
    if strategy == "fedavg":
        combined = weighted_average(flat)
    else:
        from decentralml.fl.strategy import InMemoryModel, Update, strategy_by_name

        rule = strategy_by_name(strategy)
        combined = dict(rule.aggregate([Update(InMemoryModel(arrays), samples) for arrays, samples in flat]).weights)
    tensors: dict[str, Any] = {part: {} for part in parts}
    for name, array in combined.items():
        part, _, key = name.partition(".")
        tensors[part][key] = torch.from_numpy(np.ascontiguousarray(array))
    return Checkpoint(spec=spec, tensors=tensors, samples=sum(r.samples for r in results),
                      param_groups=dict(results[0].param_groups))


def initiator_step(
    spec: SplitSpec, config: TrainConfig, initial: Checkpoint, aggregated: Checkpoint, inputs: Any, labels: Any
) -> StepOutcome:
    """The initiator: its client half with the aggregated server half, trained on its own shard."""
    client, server = _halves(spec, initial, config, server_from=aggregated)
    log = train_split(client, server, inputs, labels, config)
    return StepOutcome(_checkpoint(spec, client, server, len(labels), keep_client=True), tuple(log))


def round_robin_turn(spec: SplitSpec, config: TrainConfig, previous: Checkpoint, inputs: Any, labels: Any) -> StepOutcome:
    """A round-robin turn: start from the previous turn's weights, train, hand both halves on."""
    client, server = _halves(spec, previous, config)
    log = train_split(client, server, inputs, labels, config)
    return StepOutcome(_checkpoint(spec, client, server, previous.samples + len(labels), keep_client=True), tuple(log))


def evaluate_checkpoint(checkpoint: Checkpoint, inputs: Any, labels: Any) -> tuple[float, float]:
    """``(accuracy, loss)`` of a checkpoint holding both halves."""
    client_model, server_model = build_halves(checkpoint.spec)
    client_model.load_state_dict(checkpoint.part("client"))
    server_model.load_state_dict(checkpoint.part("server"))
    return evaluate(client_model, server_model, inputs, labels)
