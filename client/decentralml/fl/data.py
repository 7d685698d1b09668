"""Datasets and contributor shards.

The default dataset is scikit-learn's bundled handwritten digits (8x8 images,
64 features, 1797 samples: offline). MNIST is loaded when it can be fetched.
A contributor's shard is drawn by index, IID or label-skewed (Dirichlet), or
is the contributor's own CSV/NPZ file. The contributor bundle carries the same
shard rules (tests check they agree).
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from decentralml.errors import TrainingError, UsageError

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


@dataclass(frozen=True)
class Dataset:
    """Features (float32, n x d) and integer labels (int64, n)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def take(self, indices: np.ndarray) -> Dataset:
        return Dataset(self.x[indices], self.y[indices])


@dataclass(frozen=True)
class Split:
    train: Dataset
    test: Dataset


class ShardStrategy(str, Enum):
    IID = "iid"
    DIRICHLET = "dirichlet"


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> Split:
    """scikit-learn's digits, scaled to [0, 1], stratified train/test split fixed by ``seed``."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    return stratified_split(Dataset(x, y), test_fraction, seed)


def stratified_split(data: Dataset, test_fraction: float, seed: int) -> Split:
    """Split each class with the same fraction into test, the rest into train."""
    rng = np.random.default_rng(seed)
    test_idx: list[np.ndarray] = []
    train_idx: list[np.ndarray] = []
    for label in np.unique(data.y):
        idx = rng.permutation(np.flatnonzero(data.y == label))
        cut = int(round(len(idx) * test_fraction))
        test_idx.append(idx[:cut])
        train_idx.append(idx[cut:])
    train = np.sort(np.concatenate(train_idx))
    test = np.sort(np.concatenate(test_idx))
    return Split(data.take(train), data.take(test))


def iid_shard(num_samples: int, num_shards: int, index: int, seed: int) -> np.ndarray:
    """Indices of shard ``index`` of a seeded permutation cut into ``num_shards`` near-equal parts."""
    _check_index(num_shards, index)
    order = np.random.default_rng(seed).permutation(num_samples)
    return np.sort(np.array_split(order, num_shards)[index])


def dirichlet_shard(labels: np.ndarray, num_shards: int, index: int, alpha: float, seed: int) -> np.ndarray:
    """Label-skewed shard: each class is split across shards by proportions ~ Dirichlet(alpha).

    Smaller ``alpha`` means more skew. Every shard gets at least one sample.
    """
    _check_index(num_shards, index)
    if alpha <= 0:
        raise UsageError("The Dirichlet alpha must be positive (e.g. 0.5).")
    rng = np.random.default_rng(seed)
    shards: list[list[np.ndarray]] = [[] for _ in range(num_shards)]
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        proportions = rng.dirichlet(np.full(num_shards, alpha))
        cuts = (np.cumsum(proportions)[:-1] * len(idx)).astype(int)
        for shard, part in zip(shards, np.split(idx, cuts)):
            shard.append(part)
    chosen = np.concatenate(shards[index]) if shards[index] else np.empty(0, dtype=np.int64)
    if chosen.size == 0:
        # an empty shard cannot train: give it one sample of the largest class, deterministically
        chosen = np.array([int(np.flatnonzero(labels == np.bincount(labels).argmax())[index])])
    return np.sort(chosen)


def shard(data: Dataset, strategy: ShardStrategy | str, num_shards: int, index: int, seed: int, alpha: float = 0.5) -> Dataset:
    """Contributor ``index``'s shard of ``data``."""
    strategy = ShardStrategy(strategy)
    if strategy is ShardStrategy.IID:
        return data.take(iid_shard(len(data), num_shards, index, seed))
    return data.take(dirichlet_shard(data.y, num_shards, index, alpha, seed))


def load_local(path: Path, num_features: int | None = None) -> Dataset:
    """A contributor's own data: CSV (features..., label; optional header) or NPZ with arrays ``x`` and ``y``."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"Data file {path} does not exist.")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                if not {"x", "y"} <= set(archive.files):
                    raise UsageError(f"{path.name} must hold arrays 'x' and 'y'.")
                x, y = np.array(archive["x"]), np.array(archive["y"])
        except ValueError as exc:
            raise UsageError(f"{path.name} holds pickled objects or is malformed; refused.") from exc
    elif path.suffix == ".csv":
        try:
            table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError:
            try:
                table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2, skiprows=1)
            except ValueError as exc:
                raise UsageError(f"{path.name}: every row must be numbers: features..., label ({exc}).") from exc
        x, y = table[:, :-1], table[:, -1]
    else:
        raise UsageError(f"{path.name}: use a .csv (features..., label) or .npz (x, y) file.")
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    if not np.all(np.isfinite(x)):
        raise UsageError(f"{path.name} holds NaN or infinite features.")
    if not np.all(np.equal(np.mod(y, 1), 0)):
        raise UsageError(f"{path.name}: labels must be integers.")
    if num_features is not None and x.shape[1] != num_features:
        raise UsageError(f"{path.name} has {x.shape[1]} features per row; the model expects {num_features}.")
    if len(x) == 0:
        raise UsageError(f"{path.name} holds no samples.")
    return Dataset(x, np.asarray(y, dtype=np.int64))


def load_mnist(cache_dir: Path, *, url: str = MNIST_URL, timeout: float = 30.0) -> Split:
    """MNIST (flattened to 784 features, scaled to [0, 1]), downloaded once into ``cache_dir``.

    Raises TrainingError when it cannot be fetched; the digits dataset works offline.
    """
    cache_dir = Path(cache_dir)
    target = cache_dir / "mnist.npz"
    if not target.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            partial.unlink(missing_ok=True)
            raise TrainingError(
                f"MNIST could not be downloaded from {url} ({exc}).",
                hint=f"Place mnist.npz in {cache_dir} or use the offline digits dataset.",
            ) from exc
        partial.replace(target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != MNIST_SHA256:
        raise TrainingError(f"{target} is not the expected MNIST archive (SHA-256 {digest}); delete it and retry.")
    with np.load(target, allow_pickle=False) as archive:
        x_train, y_train = archive["x_train"], archive["y_train"]
        x_test, y_test = archive["x_test"], archive["y_test"]
    flat = lambda a: (a.reshape(len(a), -1) / 255.0).astype(np.float32)  # noqa: E731
    return Split(Dataset(flat(x_train), y_train.astype(np.int64)), Dataset(flat(x_test), y_test.astype(np.int64)))


def _check_index(num_shards: int, index: int) -> None:
    if num_shards < 1:
        raise UsageError("The number of contributors must be at least 1.")
    if not 0 <= index < num_shards:
        raise UsageError(f"Contributor index {index} is out of range 0..{num_shards - 1}.")
