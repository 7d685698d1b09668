"""Spotting copied results: byte-identical weights, or an update pointing the same way as an earlier one.

A free rider downloads another worker's result and sends it again, perhaps
with a little noise. Two honest contributors starting from the same base
model but training on different data move it in different directions; a copy
moves it in the same direction. :func:`update_cosine_distance` measures that
direction (1 - cosine similarity of the updates ``w - base``, accumulated in
float64 tensor by tensor, so memory stays one tensor per model).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from decentralml.fl.weights import SafetensorsModel

#: Results whose updates are closer than this (1 - cosine similarity) to an earlier one are copies.
DUPLICATE_COSINE_DISTANCE = 1e-4


@dataclass(frozen=True)
class Earlier:
    """An earlier result of the same task: its submission, weights file, that file's SHA-256 and the
    result's storage digest."""

    submission_id: int
    weights: SafetensorsModel
    weights_digest: str
    result_digest: bytes = b""


def update_cosine_distance(a: SafetensorsModel, b: SafetensorsModel, base: SafetensorsModel) -> float:
    """1 - cos(a - base, b - base) over all tensors (0: same direction; 1 when an update is zero)."""
    dot = norm_a = norm_b = 0.0
    for name in base.names:
        origin = base.read(name).astype(np.float64).ravel()
        da = a.read(name).astype(np.float64).ravel() - origin
        db = b.read(name).astype(np.float64).ravel() - origin
        dot += float(np.dot(da, db))
        norm_a += float(np.dot(da, da))
        norm_b += float(np.dot(db, db))
    if norm_a == 0.0 or norm_b == 0.0:
        return 1.0
    return 1.0 - dot / math.sqrt(norm_a * norm_b)


def find_duplicate(
    weights: SafetensorsModel, weights_digest: str, earlier: Sequence[Earlier], base: SafetensorsModel,
    *, threshold: float = DUPLICATE_COSINE_DISTANCE,
) -> str | None:
    """Why ``weights`` copies an earlier result (naming it), or None."""
    for other in earlier:
        if other.weights_digest == weights_digest:
            return f"its weights are byte-identical to submission {other.submission_id}'s"
    for other in earlier:
        distance = update_cosine_distance(weights, other.weights, base)
        if distance < threshold:
            return (
                f"its update is within cosine distance {distance:.1e} of submission {other.submission_id}'s"
                f" (duplicates are closer than {threshold:g})"
            )
    return None
