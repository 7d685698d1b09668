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
    with pytest.raises(TrainingError):
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
    with pytest.raises(TrainingError) as caught:
        ContributionMetrics.from_json(HOSTILE_METRICS[case])
    assert "metrics.json" in caught.value.message
