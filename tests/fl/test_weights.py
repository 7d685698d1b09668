"""Weights exchange: safetensors + metrics.json only; pickles, NaN and wrong shapes are refused."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from decentralml.errors import IntegrityError, TrainingError
from decentralml.fl.weights import (
    ContributionMetrics,
    load_npz_weights,
    load_result_dir,
    load_weights,
    read_spec,
    save_weights,
    spec_of,
    write_result_dir,
)
from decentralml.primitives.digests import file_digest

BASE = {"dense_0.kernel": np.zeros((4, 3), np.float32), "dense_0.bias": np.zeros(3, np.float32)}
DIGEST = "ab" * 32


def metrics(**overrides) -> ContributionMetrics:
    values = dict(num_samples=10, loss=0.5, accuracy=0.9, framework="torch", base_model_digest=DIGEST)
    values.update(overrides)
    return ContributionMetrics(**values)


def test_round_trip(tmp_path: Path) -> None:
    digest = save_weights(tmp_path / "w.safetensors", BASE)
    assert digest == file_digest(tmp_path / "w.safetensors")[0].hex()
    loaded = load_weights(tmp_path / "w.safetensors", expected=spec_of(BASE))
    assert spec_of(loaded) == spec_of(BASE)
    result = load_result_dir(write_result_dir(tmp_path / "r", BASE, metrics()), base_spec=spec_of(BASE), base_digest=DIGEST)
    assert result.metrics == metrics()
    assert result.weights.read("dense_0.kernel").flags.writeable


def test_pickles_are_refused(tmp_path: Path) -> None:
    evil = tmp_path / "weights.safetensors"
    evil.write_bytes(pickle.dumps({"dense_0.kernel": np.zeros((4, 3))}))
    with pytest.raises(TrainingError, match="not a safetensors file"):
        read_spec(evil)
    npz = tmp_path / "w.npz"
    np.savez(npz, obj=np.array([{"x": 1}], dtype=object))
    with pytest.raises(TrainingError, match="pickled"):
        load_npz_weights(npz)
    np.savez(npz, w=np.ones(2, np.float32))
    assert load_npz_weights(npz)["w"].tolist() == [1.0, 1.0]


def test_wrong_shapes_dtypes_and_names_are_refused(tmp_path: Path) -> None:
    cases = {
        "shape": {"dense_0.kernel": np.zeros((3, 4), np.float32), "dense_0.bias": np.zeros(3, np.float32)},
        "dtype": {"dense_0.kernel": np.zeros((4, 3), np.float64), "dense_0.bias": np.zeros(3, np.float32)},
        "unexpected": {**BASE, "extra": np.zeros(1, np.float32)},
    }
    for match, weights in cases.items():
        save_weights(tmp_path / f"{match}.safetensors", weights)
        with pytest.raises(TrainingError, match=match):
            load_weights(tmp_path / f"{match}.safetensors", expected=spec_of(BASE))


def test_integer_tensors_are_refused(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(3, np.int32)}, str(tmp_path / "i.safetensors"))
    with pytest.raises(TrainingError, match="not a float"):
        read_spec(tmp_path / "i.safetensors")


def test_nan_and_inf_are_refused(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    for bad in (np.nan, np.inf):
        tensors = {k: v.copy() for k, v in BASE.items()}
        tensors["dense_0.bias"][1] = bad
        save_file(tensors, str(tmp_path / "bad.safetensors"))  # bypasses our writer on purpose
        with pytest.raises(TrainingError, match="NaN or infinite"):
            load_weights(tmp_path / "bad.safetensors", expected=spec_of(BASE))
    with pytest.raises(TrainingError, match="NaN or infinite"):
        save_weights(tmp_path / "x.safetensors", {"w": np.array([np.nan], np.float32)})


def test_result_dir_holds_exactly_two_files(tmp_path: Path) -> None:
    directory = write_result_dir(tmp_path / "r", BASE, metrics())
    (directory / "model.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(TrainingError, match="exactly"):
        load_result_dir(directory, base_spec=spec_of(BASE))


def test_other_base_model_is_an_integrity_error(tmp_path: Path) -> None:
    directory = write_result_dir(tmp_path / "r", BASE, metrics())
    with pytest.raises(IntegrityError, match="another base model"):
        load_result_dir(directory, base_spec=spec_of(BASE), base_digest="cd" * 32)


@pytest.mark.parametrize(
    "document, match",
    [
        ("not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"num_samples": 1}', "lacks"),
        (json.dumps({**json.loads(metrics().to_json()), "num_samples": 0}), "integer from 1"),
        (json.dumps({**json.loads(metrics().to_json()), "num_samples": True}), "integer from 1"),
        (json.dumps({**json.loads(metrics().to_json()), "loss": "NaN"}), "finite"),
        (json.dumps({**json.loads(metrics().to_json()), "accuracy": 1.5}), "between 0 and 1"),
        (json.dumps({**json.loads(metrics().to_json()), "framework": "jax"}), "framework"),
        (json.dumps({**json.loads(metrics().to_json()), "base_model_digest": "xyz"}), "SHA-256"),
    ],
)
def test_metrics_are_checked(document: str, match: str) -> None:
    with pytest.raises(TrainingError, match=match):
        ContributionMetrics.from_json(document)
    # Python's json accepts NaN literals: they are refused too
    with pytest.raises(TrainingError, match="finite"):
        ContributionMetrics.from_json(metrics().to_json().replace('"loss": 0.5', '"loss": NaN'))


def test_truncated_or_forged_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_weights(path, BASE)
    data = path.read_bytes()
    (tmp_path / "short.safetensors").write_bytes(data[:-4])
    with pytest.raises(TrainingError, match="not a valid safetensors file"):
        read_spec(tmp_path / "short.safetensors")
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    header["dense_0.bias"]["shape"] = [1000]
    forged = json.dumps(header).encode()
    (tmp_path / "forged.safetensors").write_bytes(len(forged).to_bytes(8, "little") + forged + data[8 + size :])
    with pytest.raises(TrainingError, match="not a valid safetensors file"):
        read_spec(tmp_path / "forged.safetensors")


def test_rows_are_read_from_the_file(tmp_path: Path) -> None:
    from decentralml.fl.weights import SafetensorsModel

    weights = {"w": np.arange(24, dtype=np.float32).reshape(6, 4), "s": np.array(3.5, dtype=np.float64)}
    save_weights(tmp_path / "w.safetensors", weights)
    model = SafetensorsModel(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(model.read_rows("w", 2, 5), weights["w"][2:5])
    assert model.read("s") == 3.5 and model.read("s").shape == ()
    np.testing.assert_array_equal(model.load()["w"], weights["w"])
