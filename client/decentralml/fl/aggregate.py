"""Pure aggregation maths: NumPy arrays in, NumPy arrays out.

Every function here works on one tensor (or one chunk of rows of one tensor)
stacked across contributors; the strategies in :mod:`decentralml.fl.strategy`
decide how tensors are read and how much is held in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from decentralml.errors import TrainingError


def accumulate_weighted(acc: np.ndarray | None, tensor: np.ndarray, weight: float) -> np.ndarray:
    """Add ``tensor * weight`` into ``acc`` in place (``tensor`` is consumed); return the accumulator."""
    np.multiply(tensor, tensor.dtype.type(weight), out=tensor)
    if acc is None:
        return tensor
    np.add(acc, tensor, out=acc)
    return acc


def weighted_mean(tensors: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Weighted mean of equally shaped tensors (the FedAvg rule for one tensor), accumulated in
    float64, divided, then cast back to the first tensor's dtype."""
    if len(tensors) != len(weights) or not tensors:
        raise TrainingError("Weighted mean needs as many weights as tensors, at least one.")
    total = float(sum(weights))
    if total <= 0:
        raise TrainingError("Weighted mean needs a positive total weight.")
    acc: np.ndarray | None = None
    for tensor, weight in zip(tensors, weights):
        acc = accumulate_weighted(acc, np.array(tensor, dtype=np.float64), weight)
    assert acc is not None
    acc /= total
    return acc.astype(np.asarray(tensors[0]).dtype)


def coordinate_median(stack: np.ndarray) -> np.ndarray:
    """Coordinate-wise median across axis 0 (contributors)."""
    return np.median(stack.astype(np.float64, copy=False), axis=0).astype(stack.dtype, copy=False)


def trim_count(num_updates: int, beta: float) -> int:
    """How many values trimmed mean drops at each end: ceil(beta * n), leaving at least one."""
    if not 0.0 <= beta < 0.5:
        raise TrainingError("Trimmed mean needs 0 <= beta < 0.5.")
    b = int(np.ceil(beta * num_updates - 1e-9))
    return min(b, (num_updates - 1) // 2)


def trimmed_mean(stack: np.ndarray, trim: int) -> np.ndarray:
    """Coordinate-wise mean after dropping the ``trim`` largest and ``trim`` smallest values."""
    n = stack.shape[0]
    if n - 2 * trim < 1:
        raise TrainingError(f"Cannot trim {trim} values from each end of {n} updates.")
    if trim == 0:
        return stack.mean(axis=0, dtype=np.float64).astype(stack.dtype, copy=False)
    ordered = np.sort(stack, axis=0)
    return ordered[trim : n - trim].mean(axis=0, dtype=np.float64).astype(stack.dtype, copy=False)


def add_pairwise_sq_distances(distances: np.ndarray, stack: np.ndarray) -> None:
    """Add the squared Euclidean distances between the rows of ``stack`` (flattened) into ``distances``."""
    n = stack.shape[0]
    flat = stack.reshape(n, -1)
    for i in range(n):
        for j in range(i + 1, n):
            diff = flat[i] - flat[j]
            d = float(np.dot(diff.astype(np.float64, copy=False), diff.astype(np.float64, copy=False)))
            distances[i, j] += d
            distances[j, i] += d


def krum_scores(distances: np.ndarray, byzantine: int) -> np.ndarray:
    """Krum score of each update: the sum of its squared distances to its n - f - 2 nearest others."""
    n = distances.shape[0]
    neighbours = n - byzantine - 2
    if neighbours < 1:
        raise TrainingError(f"Krum with f={byzantine} needs at least {byzantine + 3} updates; got {n}.")
    scores = np.empty(n)
    for i in range(n):
        others = np.sort(np.delete(distances[i], i))
        scores[i] = others[:neighbours].sum()
    return scores


def krum_select(distances: np.ndarray, byzantine: int, multi: int = 1) -> list[int]:
    """Indices of the ``multi`` updates with the lowest Krum scores (ties broken by index)."""
    scores = krum_scores(distances, byzantine)
    order = np.lexsort((np.arange(len(scores)), scores))
    return [int(i) for i in order[: max(1, multi)]]
