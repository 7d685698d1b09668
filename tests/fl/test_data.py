"""Datasets and shards, and the contributor bundle drawing the same shards as the library."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from decentralml.errors import TrainingError, UsageError
from decentralml.fl import data
from tests.fl.bundles import contributor_code


def test_digits_split_is_stratified_and_fixed() -> None:
    split = data.load_digits(seed=0)
    assert split.train.x.shape[1] == 64 and split.train.x.dtype == np.float32
    assert len(split.train) + len(split.test) == 1797
    assert 0.0 <= split.train.x.min() and split.train.x.max() <= 1.0
    assert set(np.unique(split.test.y)) == set(range(10))
    again = data.load_digits(seed=0)
    np.testing.assert_array_equal(split.test.y, again.test.y)


@pytest.mark.parametrize("strategy", ["iid", "dirichlet"])
def test_shards_partition_the_training_set(strategy: str) -> None:
    labels = data.load_digits().train.y
    parts = [
        data.iid_shard(len(labels), 4, i, seed=3) if strategy == "iid" else data.dirichlet_shard(labels, 4, i, 0.5, seed=3)
        for i in range(4)
    ]
    joined = np.concatenate(parts)
    assert len(joined) == len(set(joined.tolist())) == len(labels)
    assert all(len(p) > 0 for p in parts)


def test_dirichlet_shards_are_label_skewed() -> None:
    labels = data.load_digits().train.y
    iid = [np.bincount(labels[data.iid_shard(len(labels), 3, i, 0)], minlength=10) for i in range(3)]
    skew = [np.bincount(labels[data.dirichlet_shard(labels, 3, i, 0.1, 0)], minlength=10) for i in range(3)]
    spread = lambda counts: np.mean([c.max() / max(1, c.sum()) for c in counts])  # noqa: E731
    assert spread(skew) > 2 * spread(iid)


def test_shard_index_out_of_range() -> None:
    with pytest.raises(UsageError, match="out of range"):
        data.iid_shard(10, 3, 3, 0)


@pytest.mark.parametrize("strategy", ["iid", "dirichlet"])
def test_bundle_draws_the_library_shards(strategy: str) -> None:
    code = contributor_code()
    settings = replace(code.TrainingSettings(), shard_strategy=strategy, num_contributors=4, seed=5)
    (x_train, y_train), (x_test, _) = code.load_dataset(settings)
    split = data.load_digits(settings.test_fraction, settings.seed)
    np.testing.assert_array_equal(x_train, split.train.x)
    np.testing.assert_array_equal(x_test, split.test.x)
    for i in range(4):
        x, y = code.load_data(i, None, settings)
        expected = data.shard(split.train, strategy, 4, i, settings.seed, settings.dirichlet_alpha)
        np.testing.assert_array_equal(x, expected.x)
        np.testing.assert_array_equal(y, expected.y)


def test_local_csv_and_npz(tmp_path: Path) -> None:
    rows = np.hstack([np.random.default_rng(0).random((5, 64)), np.arange(5)[:, None]])
    np.savetxt(tmp_path / "mine.csv", rows, delimiter=",", header=",".join(["f"] * 64 + ["label"]), comments="")
    local = data.load_local(tmp_path / "mine.csv", num_features=64)
    assert local.x.shape == (5, 64) and local.y.tolist() == [0, 1, 2, 3, 4]
    np.savez(tmp_path / "mine.npz", x=rows[:, :-1], y=rows[:, -1].astype(int))
    assert len(data.load_local(tmp_path / "mine.npz", num_features=64)) == 5
    np.savez(tmp_path / "evil.npz", x=np.array([object()], dtype=object), y=np.zeros(1))
    with pytest.raises(UsageError, match="pickled"):
        data.load_local(tmp_path / "evil.npz")
    with pytest.raises(UsageError, match="features"):
        data.load_local(tmp_path / "mine.csv", num_features=10)
    with pytest.raises(UsageError, match="csv"):
        data.load_local(_touch(tmp_path / "mine.txt"))


def _touch(path: Path) -> Path:
    path.write_text("1,2\n")
    return path


def test_mnist_unreachable_gives_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TrainingError, match="MNIST could not be downloaded") as info:
        data.load_mnist(tmp_path, url=f"http://127.0.0.1:{port}/mnist.npz", timeout=2)
    assert "digits" in info.value.one_line()
    assert not list(tmp_path.iterdir())
