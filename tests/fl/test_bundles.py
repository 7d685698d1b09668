"""Training rounds with the asset bundles in each framework, and start_task.sh's contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from decentralml.fl import FedAvg, Median
from decentralml.fl.weights import load_result_dir, read_spec
from tests.fl.bundles import ASSETS, creator_bundle

pytestmark = pytest.mark.ml


ROOT = ASSETS.parent


@pytest.mark.parametrize("framework", ["tensorflow", "torch"])
def test_one_round_in_each_framework(tmp_path: Path, framework: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.fl.round_driver", framework, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["modules"] == [framework], "the creator must load only the task's framework"
    assert ("tensorflow-cpu" if framework == "tensorflow" else "torch>=") in out["requirements"]
    assert ("torch" if framework == "tensorflow" else "tensorflow") not in out["requirements"]
    assert all(m["framework"] == framework and m["base_model_digest"] == out["base_digest"] for m in out["metrics"])
    assert all(out["passed"]), out["reasons"]
    assert out["samples"] == out["train_size"]
    assert out["federated_accuracy"] > max(0.8, out["start_accuracy"] + 0.3)


def test_poisoned_contribution_rejected_and_robust_rule_holds(tmp_path: Path) -> None:
    creator = creator_bundle()
    settings = creator.with_framework("torch", creator.SETTINGS)
    base = creator.initial_global_model(tmp_path, settings)
    code = creator.contributor_code(settings)
    training = creator.training_settings(settings)
    results = tmp_path / "results"
    for index in range(3):
        code.contribute(base, results / f"c{index}", index, None, None, training)
    poisoned = results / "c2"
    weights = {k: v * -25.0 for k, v in load_result_dir(poisoned, base_spec=read_spec(base)).weights.load().items()}
    from safetensors.numpy import save_file

    save_file(weights, str(poisoned / "weights.safetensors"))
    report = creator.validate_contribution(poisoned / "weights.safetensors", (poisoned / "metrics.json").read_bytes(), base, settings)
    assert not report.passed and "below the threshold" in report.reason
    updates = creator.load_contributors_models(results, base)
    robust = creator.evaluate_weights(Median().aggregate(updates).weights, settings)
    naive = creator.evaluate_weights(FedAvg().aggregate(updates).weights, settings)
    assert robust.accuracy > 0.8 and robust.accuracy > naive.accuracy


def test_start_task_uses_the_current_python_and_honours_the_contract(tmp_path: Path) -> None:
    creator = creator_bundle()
    settings = creator.with_framework("torch", creator.SETTINGS)
    base = creator.initial_global_model(tmp_path, settings)
    bundle = creator.prepare_contributor_bundle(base, tmp_path / "bundle", settings)
    env = dict(os.environ, DECENTRALML_PYTHON=sys.executable, XDG_CACHE_HOME=str(tmp_path / "cache"),
               DECENTRALML_CONTRIBUTOR_INDEX="1", DECENTRALML_OUTPUT_DIR=str(tmp_path / "out"))
    done = subprocess.run([str(bundle / "start_task.sh")], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "cache").exists()  # no venv: the current python satisfied requirements.txt
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["num_samples"] == 449 and line["framework"] == "torch"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["metrics.json", "weights.safetensors"]
    # arguments win over the environment; a missing model is a one-line error with exit 2
    done = subprocess.run([str(bundle / "start_task.sh"), "--global-model", str(tmp_path / "nope.safetensors")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "no global model" in done.stderr
    data = tmp_path / "mine.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x=rng.random((40, 64)).astype(np.float32), y=rng.integers(0, 10, 40))
    done = subprocess.run([str(bundle / "start_task.sh"), "--data", str(data), "--output", str(tmp_path / "own")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "own" / "metrics.json").read_text())["num_samples"] == 40


def test_the_creator_module_is_cached_by_content_not_pinned_in_sys_modules(tmp_path: Path) -> None:
    import sys

    from decentralml.fl.bundle import load_creator_bundle

    bundle = tmp_path / "creator"
    bundle.mkdir()
    source = (
        "from . import settings\n"
        "def framework_name():\n    return settings.NAME\n"
        "def evaluate_weights(weights):\n    raise NotImplementedError\n"
        "def validate_contribution(weights_path, metrics_json, base_model_path):\n    raise NotImplementedError\n"
    )
    (bundle / "model_creator.py").write_text(source)
    (bundle / "settings.py").write_text('NAME = "first"\n')
    first = load_creator_bundle(bundle)
    assert first.framework_name() == "first"
    assert load_creator_bundle(bundle) is first
    assert not [name for name in sys.modules if name.startswith("decentralml_creator_bundle_")]
    (bundle / "settings.py").write_text('NAME = "edited"\n')
    assert load_creator_bundle(bundle).framework_name() == "edited"
