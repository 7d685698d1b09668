"""The split bundles as a contributor and an initiator run them, and result checks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from decentralml.errors import IntegrityError
from decentralml.fl.split import protocols, weights
from decentralml.fl.split.data import prepare_shards
from decentralml.fl.split.model import SplitSpec
from decentralml.fl.split.runner import (
    BundleConfig,
    Protocol,
    check_result,
    run_contribution,
    write_base_model,
    write_config,
)
from decentralml.fl.split.train import TrainConfig

pytestmark = pytest.mark.ml

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "split_learning"
SPEC = SplitSpec("mlp", 30, (8, 4), 2, cut=2)


def _config(protocol: Protocol) -> BundleConfig:
    return BundleConfig(protocol, SPEC, TrainConfig(epochs=2, batch_size=16))


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return prepare_shards("breast_cancer", tmp_path_factory.mktemp("d"), participants=3, seed=2)


def test_creator_start_task_aggregates_participant_results(shards, tmp_path):
    bundle = tmp_path / "participant"
    shutil.copytree(ASSETS / "participant", bundle)
    creator = tmp_path / "creator"
    shutil.copytree(ASSETS / "creator", creator)
    config = _config(Protocol.INITIATOR)
    write_config(bundle, config)
    base = write_base_model(config, bundle / "base_model.safetensors")
    results = []
    for index in (1, 2):
        out = tmp_path / f"r{index}"
        run_contribution(config, base, shards.participants[index], out)
        assert set(weights.read(out / "weights.safetensors").tensors) == {"server", "server_opt"}
        results += ["--result", str(out)]
    env = dict(os.environ, DECENTRALML_PYTHON=sys.executable)
    done = subprocess.run(
        ["bash", str(creator / "start_task.sh"), "--data", str(shards.participants[0]), "--test", str(shards.test),
         "--output", str(tmp_path / "main"), *results],
        env=env, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["participants"] == 2 and 0.0 <= line["test_accuracy"] <= 1.0
    main = weights.read(tmp_path / "main" / "weights.safetensors")
    assert set(main.tensors) == {"client", "server", "server_opt"}

    missing = subprocess.run(["bash", str(bundle / "start_task.sh"), "--output", str(tmp_path / "x")],
                             env=env, capture_output=True, text=True, check=False)
    assert missing.returncode == 2 and "--data" in missing.stderr


def test_check_result_refuses_what_does_not_fit(shards, tmp_path):
    import torch

    config = _config(Protocol.ROUND_ROBIN)
    base = write_base_model(config, tmp_path / "base.safetensors")
    run_contribution(config, base, shards.participants[0], tmp_path / "ok")
    assert check_result(config, tmp_path / "ok").samples > 0

    other = BundleConfig(Protocol.ROUND_ROBIN, SplitSpec("mlp", 30, (8, 4), 2, cut=2, seed=9), config.train)
    with pytest.raises(IntegrityError, match="another network"):
        check_result(other, tmp_path / "ok")

    good = weights.read(tmp_path / "ok" / "weights.safetensors")
    poisoned = {part: dict(t) for part, t in good.tensors.items()}
    first = next(iter(poisoned["server"]))
    poisoned["server"][first] = torch.full_like(poisoned["server"][first], float("nan"))
    weights.write(tmp_path / "nan.safetensors", weights.Checkpoint(good.spec, poisoned, good.samples, good.param_groups))
    with pytest.raises(IntegrityError, match="NaN"):
        check_result(config, tmp_path / "nan.safetensors")

    no_client = {k: v for k, v in good.tensors.items() if k != "client"}
    weights.write(tmp_path / "half.safetensors", weights.Checkpoint(good.spec, no_client, good.samples, good.param_groups))
    with pytest.raises(IntegrityError, match="no client part"):
        check_result(config, tmp_path / "half.safetensors")


def test_round_robin_turn_rejects_checkpoint_of_other_network(shards, tmp_path):
    from decentralml.errors import TrainingError
    from decentralml.fl.split.data import read_csv

    config = _config(Protocol.ROUND_ROBIN)
    other = protocols.initial_checkpoint(SplitSpec("mlp", 30, (8, 4), 2, cut=1))
    x, y = read_csv(shards.participants[0], features=30)
    with pytest.raises(TrainingError, match="another network spec"):
        protocols.round_robin_turn(config.spec, config.train, other, x, y)


def test_digits_image_path_through_the_runner(tmp_path):
    digits = prepare_shards("digits", tmp_path / "digits", participants=3, seed=0)
    config = BundleConfig(Protocol.INITIATOR, SplitSpec("cnn", 64, (4, 8), 10, cut=3, image_size=8), TrainConfig(epochs=1))
    base = write_base_model(config, tmp_path / "base.safetensors")
    metrics = run_contribution(config, base, digits.participants[0], tmp_path / "out")
    assert metrics["samples"] == len((digits.participants[0]).read_text().splitlines()) - 1
    assert check_result(config, tmp_path / "out").samples == metrics["samples"]
