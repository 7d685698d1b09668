"""The strategy interface: turn a round's accepted updates into the next global model."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import numpy as np

from decentralml.errors import TrainingError
from decentralml.fl.weights import ElementReader, ModelSpec, Weights, check_finite, check_spec, spec_of


class ModelSource(Protocol):
    """Where an update's tensors come from: a file read tensor by tensor, or memory."""

    spec: ModelSpec

    def read(self, name: str) -> np.ndarray: ...

    def read_rows(self, name: str, start: int | None, stop: int | None) -> np.ndarray: ...


@contextmanager
def element_reader(model: ModelSource) -> Iterator[ElementReader]:
    """Read flat element ranges of ``model``'s tensors (see :data:`~decentralml.fl.weights.ElementReader`).

    Sources with their own ``element_reader`` (files, memory) read just the range; any other
    :class:`ModelSource` reads the rows that cover it (checked finite) and copies the range out.
    """
    opener = getattr(model, "element_reader", None)
    if opener is not None:
        with opener() as read:
            yield read
        return
    specs = {tensor.name: tensor for tensor in model.spec}

    def read_covering_rows(name: str, out: np.ndarray, start: int) -> None:
        shape = specs[name].shape
        if not shape:
            out[...] = model.read(name).reshape(-1)[start : start + out.size]
            return
        row = math.prod(shape[1:])
        first = start // row
        rows = model.read_rows(name, first, -(-(start + out.size) // row)).reshape(-1)
        out[...] = rows[start - first * row : start - first * row + out.size]

    yield read_covering_rows


def raise_non_finite(updates: "Sequence[Update]", name: str) -> None:
    """Name the update that made tensor ``name`` non-finite (or report an overflow)."""
    for i, update in enumerate(updates):
        try:
            update.model.read(name)
        except TrainingError as exc:
            raise TrainingError(f"update {update.label or i}: {exc.message}") from exc
    raise TrainingError(f"Aggregating tensor {name!r} overflowed: the updates hold values too large to average.")


class InMemoryModel:
    """A :class:`ModelSource` over weights already in memory (reads return copies)."""

    def __init__(self, weights: Mapping[str, np.ndarray]) -> None:
        self._weights = {name: np.asarray(array, order="C") for name, array in weights.items()}
        self.spec = spec_of(self._weights)

    def read(self, name: str) -> np.ndarray:
        array = np.array(self._weights[name], copy=True)
        check_finite(name, array)
        return array

    def read_rows(self, name: str, start: int | None, stop: int | None) -> np.ndarray:
        if start is None and stop is None:
            return self.read(name)
        array = np.array(self._weights[name][start:stop], copy=True)
        check_finite(name, array)
        return array

    @contextmanager
    def element_reader(self) -> Iterator[ElementReader]:
        """Copy flat element ranges out of the held arrays (no finiteness check)."""

        def read(name: str, out: np.ndarray, start: int) -> None:
            out[...] = self._weights[name].reshape(-1)[start : start + out.size]

        yield read


@dataclass(frozen=True)
class Update:
    """One accepted contribution: its model and the number of samples it trained on."""

    model: ModelSource
    num_samples: int
    label: str = ""


@dataclass(frozen=True)
class AggregateResult:
    """The new global weights and which updates shaped them."""

    weights: Weights
    strategy: str
    used: tuple[int, ...] = field(default=())


def rows_per_chunk(shape: tuple[int, ...], itemsize: int, copies: int, budget_bytes: int) -> int:
    """How many first-axis rows of a tensor fit ``copies`` times in the budget (at least one)."""
    if not shape:
        return 1
    row_bytes = itemsize * int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else itemsize
    return max(1, budget_bytes // max(1, row_bytes * copies))


class Strategy(ABC):
    """An aggregation rule. Subclasses say in ``memory`` what they hold at peak."""

    name: ClassVar[str]
    memory: ClassVar[str]

    def aggregate(self, updates: Sequence[Update], spec: ModelSpec | None = None) -> AggregateResult:
        """Aggregate updates that share ``spec`` (defaults to the first update's)."""
        if not updates:
            raise TrainingError("No accepted updates to aggregate: accept at least one result first.")
        spec = spec if spec is not None else updates[0].model.spec
        for i, update in enumerate(updates):
            check_spec(update.model.spec, spec, what=f"update {update.label or i}")
            if update.num_samples <= 0:
                raise TrainingError(f"update {update.label or i} reports no training samples.")
        return self._aggregate(list(updates), spec)

    @abstractmethod
    def _aggregate(self, updates: list[Update], spec: ModelSpec) -> AggregateResult: ...


class StackingStrategy(Strategy):
    """Rules that need every update's value for each coordinate (median, trimmed mean).

    Tensors are processed in chunks of rows so that at most ``budget_bytes``
    of stacked values are held at once: peak memory is the output model plus
    ``budget_bytes`` (plus one chunk of sort scratch), whatever the number of updates.
    """

    def __init__(self, budget_bytes: int = 64 * 1024 * 1024) -> None:
        self.budget_bytes = budget_bytes

    @abstractmethod
    def _combine(self, stack: np.ndarray) -> np.ndarray: ...

    def _aggregate(self, updates: list[Update], spec: ModelSpec) -> AggregateResult:
        out: Weights = {}
        for tensor in spec:
            itemsize = np.dtype(tensor.dtype).itemsize
            if not tensor.shape:
                stack = np.stack([u.model.read(tensor.name) for u in updates])
                out[tensor.name] = self._combine(stack)
                continue
            result = np.empty(tensor.shape, dtype=tensor.dtype)
            step = rows_per_chunk(tensor.shape, itemsize, 2 * len(updates), self.budget_bytes)
            for start in range(0, tensor.shape[0], step):
                stop = min(start + step, tensor.shape[0])
                stack = np.stack([u.model.read_rows(tensor.name, start, stop) for u in updates])
                result[start:stop] = self._combine(stack)
            out[tensor.name] = result
        return AggregateResult(out, self.name, tuple(range(len(updates))))
