"""Hostile result files: malformed safetensors, metrics.json bombs, insane sample counts.

Every malformed file is refused twice over: by the safetensors library's parser
and, with the library's check switched off, by our own layout reader (which
must apply the same rules because it is what the reads use).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from decentralml.errors import TrainingError
from decentralml.fl import weights as weights_mod
from decentralml.fl.weights import ContributionMetrics, SafetensorsModel, read_spec, save_weights


def _file(header: dict | bytes, data: bytes) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _t(dtype: str, shape: list[int], begin: int, end: int) -> dict:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


MALFORMED = {
    "overlapping offsets": _file({"a": _t("F32", [2], 0, 8), "b": _t("F32", [1], 4, 8)}, b"\0" * 8),
    "a gap": _file({"a": _t("F32", [1], 0, 4), "b": _t("F32", [1], 8, 12)}, b"\0" * 12),
    "duplicate names": _file(
        b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        b"\0" * 8,
    ),
    "duplicate names, same span": _file(
        b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        b"\0" * 4,
    ),
    "extra bytes after the last tensor": _file({"a": _t("F32", [2], 0, 8)}, b"\0" * 9),
    "truncated": _file({"a": _t("F32", [2], 0, 8)}, b"\0" * 7),
    "shape [2**64, 1]": _file(b'{"a":{"dtype":"F32","shape":[18446744073709551616,1],"data_offsets":[0,8]}}', b"\0" * 8),
    "shape overflowing int64": _file({"a": _t("F32", [2**62, 4], 0, 0)}, b""),
    "shape not matching bytes": _file({"a": _t("F32", [3], 0, 8)}, b"\0" * 8),
    "unknown dtype": _file({"a": _t("Q9", [2], 0, 8)}, b"\0" * 8),
    "integer dtype": _file({"a": _t("I64", [1], 0, 8)}, b"\0" * 8),
    "header longer than the file": struct.pack("<Q", 1 << 40) + b"{}",
    "header nested 100000 deep": _file(b"[" * 100_000 + b"]" * 100_000, b""),
    "header not an object": _file(b"[1, 2]", b""),
    "negative offsets": _file({"a": _t("F32", [1], -4, 0)}, b"\0" * 4),
}


@pytest.mark.parametrize("library", [True, False], ids=["library", "hand-written"])
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_safetensors_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, library: bool) -> None:
    if not library:
        monkeypatch.setattr(weights_mod, "_library_check", lambda path: None)
    path = tmp_path / "w.safetensors"
    path.write_bytes(MALFORMED[case])
    with pytest.raises(TrainingError, match=r"^w\.safetensors"):
        SafetensorsModel(path)


def test_a_well_formed_file_passes_both_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.safetensors"
    save_weights(path, {"b": np.ones(3, np.float16), "a": np.zeros((2, 2), np.float32)})
    spec = read_spec(path)
    monkeypatch.setattr(weights_mod, "_library_check", lambda path: None)
    assert read_spec(path) == spec
    assert SafetensorsModel(path).read("b").tolist() == [1.0, 1.0, 1.0]


def _metrics(**changes: object) -> str:
    body = {"num_samples": 10, "loss": 0.5, "accuracy": 0.5, "framework": "numpy", "base_model_digest": "0" * 64}
    body.update(changes)
    return json.dumps(body)


HOSTILE_METRICS = {
    "nested 100000 deep": _metrics()[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "one megabyte": _metrics(padding="x" * (1 << 20)),
    "10**15 samples": _metrics(num_samples=10**15),
    "10**400 samples": _metrics().replace('"num_samples": 10', '"num_samples": 1' + "0" * 400),
    "float samples": _metrics(num_samples=1e3),
    "negative samples": _metrics(num_samples=-5),
    "huge loss": _metrics().replace('"loss": 0.5', '"loss": 1' + "0" * 400),
    "duplicate key": _metrics()[:-1] + ', "num_samples": 20}',
    "not an object": "[]",
    "not UTF-8": b"\xff\xfe{}",
}


@pytest.mark.parametrize("case", sorted(HOSTILE_METRICS))
def test_hostile_metrics_are_refused_with_a_reason(case: str) -> None:
    with pytest.raises(TrainingError, match="metrics.json") as caught:
        ContributionMetrics.from_json(HOSTILE_METRICS[case])
    assert "metrics.json" in caught.value.message


# --- weights from the creator, and float64 accumulation ---------------------------------------

from decentralml.fl.duplicates import Earlier, find_duplicate, update_cosine_distance  # noqa: E402
from decentralml.fl.strategy import FedAvg, FedAvgAccumulator, InMemoryModel, Update  # noqa: E402
from decentralml.fl.weighting import bound_sample_counts  # noqa: E402


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_fedavg_of_large_counts_does_not_overflow_the_model_dtype(dtype: type) -> None:
    ones = {"w": np.ones((300, 7), dtype)}
    out = FedAvg(workers=1).aggregate([Update(InMemoryModel(ones), 60_000), Update(InMemoryModel(ones), 60_000)])
    assert out.weights["w"].dtype == dtype and np.array_equal(out.weights["w"], ones["w"])
    accumulator = FedAvgAccumulator()
    accumulator.add(ones, 60_000)
    accumulator.add(ones, 60_000)
    assert np.array_equal(accumulator.result()["w"], ones["w"]) and accumulator.result()["w"].dtype == dtype


def test_fedavg_of_float16_near_its_maximum_stays_finite() -> None:
    big = {"w": np.full(16, 60_000, np.float16)}
    small = {"w": np.full(16, 50_000, np.float16)}
    out = FedAvg(workers=1).aggregate([Update(InMemoryModel(big), 3), Update(InMemoryModel(small), 1)])
    assert np.isfinite(out.weights["w"]).all() and float(out.weights["w"][0]) == pytest.approx(57_500, rel=1e-3)


def test_fedavg_float64_sum_is_exact_for_float32_inputs() -> None:
    rng = np.random.default_rng(0)
    tensors = [rng.standard_normal(4096).astype(np.float32) for _ in range(10)]
    counts = [100 + 10 * i for i in range(10)]
    out = FedAvg(workers=1).aggregate([Update(InMemoryModel({"w": t}), n) for t, n in zip(tensors, counts)])
    exact = sum(t.astype(np.float64) * n for t, n in zip(tensors, counts)) / sum(counts)
    assert np.abs(out.weights["w"].astype(np.float64) - exact).max() < 1e-6


def test_sample_counts_are_clipped_and_reported() -> None:
    counts = bound_sample_counts([300, 400, 10**9], shard_size=500)
    assert [c.used for c in counts] == [300, 400, 500]
    assert counts[2].clipped and "shard size 500" in counts[2].reason and not counts[0].clipped
    counts = bound_sample_counts([100, 100, 10**6])
    assert [c.used for c in counts] == [100, 100, 200] and "median" in counts[2].reason


@pytest.mark.parametrize("claim", [0, -1, 1.5, True, 10**13, 10**400, "10"])
def test_insane_sample_counts_are_refused(claim: object) -> None:
    with pytest.raises(TrainingError, match="integer from 1"):
        bound_sample_counts([100, claim])  # type: ignore[list-item]


def _model(path: Path, weights: dict) -> SafetensorsModel:
    save_weights(path, weights)
    return SafetensorsModel(path)


def test_copies_are_found_and_honest_updates_are_not(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    base = _model(tmp_path / "base.safetensors", {"w": np.zeros(1000, np.float32)})
    original = {"w": rng.standard_normal(1000).astype(np.float32)}
    first = _model(tmp_path / "a.safetensors", original)
    other = _model(tmp_path / "b.safetensors", {"w": rng.standard_normal(1000).astype(np.float32)})
    near = _model(tmp_path / "c.safetensors", {"w": original["w"] + np.float32(1e-3) * rng.standard_normal(1000).astype(np.float32)})
    earlier = [Earlier(7, first, "aa" * 32)]
    assert find_duplicate(first, "aa" * 32, earlier, base) == "its weights are byte-identical to submission 7's"
    assert "submission 7" in (find_duplicate(near, "bb" * 32, earlier, base) or "")
    assert find_duplicate(other, "cc" * 32, earlier, base) is None
    assert update_cosine_distance(base, first, base) == 1.0  # a zero update matches nothing
