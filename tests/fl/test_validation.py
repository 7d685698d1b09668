"""The validation checks, with a NumPy evaluator standing in for the creator's model (no framework needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from decentralml.fl.validation import Evaluation, validate_contribution
from decentralml.fl.weights import ContributionMetrics, save_weights, spec_of, write_result_dir
from decentralml.primitives.digests import file_digest

RNG = np.random.default_rng(0)
X = RNG.normal(size=(200, 4)).astype(np.float32)
TRUE = RNG.normal(size=(4, 3)).astype(np.float32)
Y = (X @ TRUE).argmax(axis=1)


def linear_accuracy(weights) -> Evaluation:
    logits = X @ weights["kernel"] + weights["bias"]
    return Evaluation(loss=0.0, accuracy=float((logits.argmax(axis=1) == Y).mean()))


def setup(tmp_path: Path, kernel: np.ndarray, *, base_digest: str | None = None, framework: str = "numpy"):
    base = {"kernel": np.zeros((4, 3), np.float32), "bias": np.zeros(3, np.float32)}
    digest = save_weights(tmp_path / "base.safetensors", base)
    metrics = ContributionMetrics(50, 0.1, 0.9, framework, base_digest or digest)
    result = write_result_dir(tmp_path / "result", {"kernel": kernel, "bias": np.zeros(3, np.float32)}, metrics)
    return result, spec_of(base), file_digest(tmp_path / "base.safetensors")[0].hex()


def run(result: Path, spec, digest, threshold=0.8, framework="numpy"):
    return validate_contribution(
        result / "weights.safetensors",
        (result / "metrics.json").read_bytes(),
        base_spec=spec,
        base_digest=digest,
        evaluate=linear_accuracy,
        threshold=threshold,
        framework=framework,
    )


def test_good_contribution_passes(tmp_path: Path) -> None:
    report = run(*setup(tmp_path, TRUE))
    assert report.passed and report.score_bp == 10_000 and report.metrics.num_samples == 50


def test_below_threshold_is_rejected(tmp_path: Path) -> None:
    report = run(*setup(tmp_path, -TRUE))
    assert not report.passed and "below the threshold" in report.reason
    assert report.evaluation is not None and report.score_bp < 8_000


def test_nan_contribution_is_rejected(tmp_path: Path) -> None:
    result, spec, digest = setup(tmp_path, TRUE)
    from safetensors.numpy import save_file

    save_file({"kernel": np.full((4, 3), np.nan, np.float32), "bias": np.zeros(3, np.float32)}, str(result / "weights.safetensors"))
    report = run(result, spec, digest)
    assert not report.passed and "NaN" in report.reason and report.score_bp == 0


def test_wrong_shape_and_garbage_are_rejected(tmp_path: Path) -> None:
    result, spec, digest = setup(tmp_path, TRUE)
    save_weights(result / "weights.safetensors", {"kernel": np.zeros((3, 4), np.float32), "bias": np.zeros(3, np.float32)})
    assert "shape" in run(result, spec, digest).reason
    (result / "weights.safetensors").write_bytes(b"\x80\x04garbage")
    assert not run(result, spec, digest).passed
    (result / "metrics.json").write_text("{}")
    assert "lacks" in run(result, spec, digest).reason


def test_other_base_or_framework_is_rejected(tmp_path: Path) -> None:
    result, spec, digest = setup(tmp_path, TRUE, base_digest="0" * 64)
    assert "another base model" in run(result, spec, digest).reason
    result, spec, digest = setup(tmp_path / "b", TRUE, framework="torch")
    assert "the task uses numpy" in run(result, spec, digest).reason
