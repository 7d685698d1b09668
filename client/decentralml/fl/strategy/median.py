"""Coordinate-wise median (Yin et al., 2018): robust to a minority of arbitrary updates."""

from __future__ import annotations

import numpy as np

from decentralml.fl.aggregate import coordinate_median
from decentralml.fl.strategy.base import StackingStrategy


class Median(StackingStrategy):
    """Median of each coordinate across updates; sample counts are ignored (they can be lied about).

    Needs every update's value per coordinate: peak memory is the output model
    plus ``budget_bytes`` of stacked rows (k updates x chunk), not k x model.
    """

    name = "median"
    memory = "output model + budget_bytes of stacked chunks (k x chunk)"

    def _combine(self, stack: np.ndarray) -> np.ndarray:
        return coordinate_median(stack)
