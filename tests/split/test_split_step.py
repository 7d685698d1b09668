"""The split step: gradients across the cut equal the unsplit network's, checkpoints, aggregation."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from decentralml.errors import IntegrityError, TrainingError, UsageError
from decentralml.fl.split import protocols, weights
from decentralml.fl.split.aggregate import weighted_average
from decentralml.fl.split.model import SplitSpec, build_network, split_network
from decentralml.fl.split.step import ClientHalf, ServerHalf, split_step
from decentralml.fl.split.train import TrainConfig, make_optimizer, train_split, train_unsplit

pytestmark = pytest.mark.ml

SPECS = [
    SplitSpec("mlp", 30, (16, 8), 2, cut=1, seed=3),
    SplitSpec("mlp", 30, (16, 8), 2, cut=4, seed=3),
    SplitSpec("cnn", 64, (4, 8), 10, cut=3, seed=5, image_size=8),
    SplitSpec("cnn", 64, (4, 8), 10, cut=7, seed=5, image_size=8),
]


def _batch(spec: SplitSpec, n: int = 12):
    import torch

    generator = torch.Generator().manual_seed(11)
    if spec.arch == "mlp":
        inputs = torch.randn(n, spec.in_features, generator=generator)
    else:
        inputs = torch.rand(n, 1, spec.image_size, spec.image_size, generator=generator)
    labels = torch.randint(0, spec.classes, (n,), generator=generator)
    return inputs, labels


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.arch}-cut{s.cut}")
def test_gradients_across_the_cut_equal_unsplit_gradients(spec):
    import torch
    from torch import nn

    inputs, labels = _batch(spec)
    reference = build_network(spec)
    whole = copy.deepcopy(reference)
    nn.CrossEntropyLoss()(whole(inputs), labels).backward()

    client_model, server_model = split_network(copy.deepcopy(reference), spec.cut)
    frozen = TrainConfig(lr="0", momentum="0")  # lr 0: parameters stay put, grads remain for comparison
    client = ClientHalf(client_model, make_optimizer(client_model, frozen))
    server = ServerHalf(server_model, make_optimizer(server_model, frozen), nn.CrossEntropyLoss())
    split_step(client, server, inputs, labels)

    split_grads = [p.grad for p in list(client_model.parameters()) + list(server_model.parameters())]
    whole_grads = [p.grad for p in whole.parameters()]
    assert len(split_grads) == len(whole_grads)
    for got, expected in zip(split_grads, whole_grads):
        assert got is not None and torch.allclose(got, expected, rtol=1e-5, atol=1e-7)
        assert got.abs().sum() > 0


def test_split_training_matches_unsplit_training():
    import torch
    from torch import nn

    spec = SPECS[0]
    inputs, labels = _batch(spec, 40)
    config = TrainConfig(epochs=3, batch_size=8, lr="0.1", momentum="0.9", seed=2)
    whole = build_network(spec)
    train_unsplit(whole, inputs, labels, config)
    client_model, server_model = split_network(build_network(spec), spec.cut)
    train_split(
        ClientHalf(client_model, make_optimizer(client_model, config)),
        ServerHalf(server_model, make_optimizer(server_model, config), nn.CrossEntropyLoss()),
        inputs, labels, config,
    )
    for got, expected in zip(list(client_model.parameters()) + list(server_model.parameters()), whole.parameters()):
        assert torch.allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_activations_cross_the_cut_without_graph():
    spec = SPECS[0]
    client_model, _ = split_network(build_network(spec), spec.cut)
    client = ClientHalf(client_model, make_optimizer(client_model, TrainConfig()))
    sent = client.forward(_batch(spec)[0])
    assert sent.grad_fn is None and not sent.requires_grad


def test_client_backward_before_forward_is_refused():
    import torch

    spec = SPECS[0]
    client_model, _ = split_network(build_network(spec), spec.cut)
    client = ClientHalf(client_model, make_optimizer(client_model, TrainConfig()))
    with pytest.raises(TrainingError, match="out of order"):
        client.backward(torch.zeros(2, 16))


def test_checkpoint_round_trip_with_optimizer_state():
    import torch

    spec = SPECS[1]
    inputs, labels = _batch(spec, 24)
    outcome = protocols.participant_step(spec, TrainConfig(epochs=1, batch_size=8), protocols.initial_checkpoint(spec), inputs, labels)
    raw = weights.to_bytes(outcome.checkpoint)
    back = weights.from_bytes(raw)
    assert back.spec == spec and back.samples == 24
    assert set(back.tensors) == {"server", "server_opt"}  # the client half stays with the participant
    for name, tensor in outcome.checkpoint.part("server_opt").items():
        assert torch.equal(back.part("server_opt")[name], tensor)


def test_non_safetensors_bytes_are_rejected():
    with pytest.raises(IntegrityError, match="not a valid safetensors file"):
        weights.from_bytes(b"\x80\x04pickle")


def test_weighted_average_weights_by_samples():
    out = weighted_average([({"w": np.array([0.0, 2.0], dtype=np.float32)}, 1), ({"w": np.array([4.0, 2.0], dtype=np.float32)}, 3)])
    assert out["w"].dtype == np.float32 and np.allclose(out["w"], [3.0, 2.0])
    with pytest.raises(TrainingError, match="different tensors"):
        weighted_average([({"w": np.zeros(2)}, 1), ({"v": np.zeros(2)}, 1)])
    with pytest.raises(TrainingError, match="Nothing to aggregate"):
        weighted_average([])


def test_bad_cut_layer_refused():
    with pytest.raises(UsageError, match=r"Cut layer 5 must leave modules on both sides \(1\.\.4\)"):
        SplitSpec("mlp", 30, (16, 8), 2, cut=5)
    with pytest.raises(UsageError, match=r"Cut layer 0 must leave modules on both sides"):
        SplitSpec("mlp", 30, (16, 8), 2, cut=0)


def _participant(spec, value: float, samples: int) -> weights.Checkpoint:
    import torch

    base = protocols.initial_checkpoint(spec)
    server = {k: torch.full_like(v, value) for k, v in base.part("server").items()}
    server_opt = {f"{i}.momentum_buffer": torch.full_like(v, value) for i, v in enumerate(base.part("server").values())}
    return weights.Checkpoint(spec, {"server": server, "server_opt": server_opt}, samples)


def test_robust_aggregation_resists_an_inflated_participant():
    spec = SPECS[0]
    honest = [_participant(spec, 1.0, 100), _participant(spec, 1.2, 100)]
    liar = _participant(spec, 50.0, 1_000_000)
    weighted = protocols.aggregate_server_halves([*honest, liar])
    median = protocols.aggregate_server_halves([*honest, liar], "median")
    name = next(iter(weighted.part("server")))
    # sample weighting clips the claim to 2x the median (200): the liar weighs as much as both honest ones
    assert float(weighted.part("server")[name].mean()) == pytest.approx((100 * 1.0 + 100 * 1.2 + 200 * 50.0) / 400, rel=1e-5)
    assert float(median.part("server")[name].mean()) == pytest.approx(1.2)
    krum = protocols.aggregate_server_halves([*honest, _participant(spec, 1.1, 100), liar], "krum")
    chosen = float(krum.part("server")[name].mean())
    assert chosen < 2 and float(krum.part("server_opt")["0.momentum_buffer"].mean()) == pytest.approx(chosen)
