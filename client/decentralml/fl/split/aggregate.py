"""Sample-weighted averaging of named arrays (pure NumPy)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from decentralml.errors import TrainingError


def weighted_average(parts: Sequence[tuple[Mapping[str, np.ndarray], int]]) -> dict[str, np.ndarray]:
    """Average ``{name: array}`` mappings weighted by integer sample counts.

    All mappings must have the same names and shapes; the result keeps each
    array's dtype (integer arrays, e.g. step counters, are rounded).
    """
    if not parts:
        raise TrainingError("Nothing to aggregate: no participant results.")
    total = sum(int(samples) for _, samples in parts)
    if total <= 0 or any(int(samples) < 0 for _, samples in parts):
        raise TrainingError("Participant sample counts must be non-negative and not all zero.")
    names = set(parts[0][0])
    for arrays, _ in parts[1:]:
        if set(arrays) != names:
            raise TrainingError("Participant results have different tensors: they trained different networks.")
    result: dict[str, np.ndarray] = {}
    for name in sorted(names):
        first = np.asarray(parts[0][0][name])
        accumulator = np.zeros(first.shape, dtype=np.float64)
        for arrays, samples in parts:
            array = np.asarray(arrays[name])
            if array.shape != first.shape:
                raise TrainingError(f"Participant results disagree on the shape of {name}.")
            accumulator += array.astype(np.float64) * (int(samples) / total)
        if np.issubdtype(first.dtype, np.integer):
            accumulator = np.rint(accumulator)
        result[name] = accumulator.astype(first.dtype)
    return result
