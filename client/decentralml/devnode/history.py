"""Storage at every block, kept as per-key change history.

Each key keeps the block numbers at which it changed and the value it took
(``None`` for a removal); the state at block ``n`` is, per key, the last change
at or before ``n`` (a bisect). The head state is also kept as a plain dict so
that block building reads it at dict speed. Nothing here does IO.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Mapping


class StateHistory:
    """Raw storage (key -> SCALE value) at every block number from genesis."""

    def __init__(self) -> None:
        self._numbers: dict[bytes, list[int]] = {}
        self._values: dict[bytes, list[bytes | None]] = {}
        self._sorted_keys: list[bytes] = []
        self.head: dict[bytes, bytes] = {}
        self.head_number = -1

    def apply(self, number: int, changes: Mapping[bytes, bytes | None]) -> None:
        """Record the changes made by block ``number`` (must follow the head)."""
        if number <= self.head_number:
            raise ValueError(f"block {number} does not follow head {self.head_number}")
        for key, value in changes.items():
            numbers = self._numbers.get(key)
            if numbers is None:
                if value is None:
                    continue
                self._numbers[key] = [number]
                self._values[key] = [value]
                insort(self._sorted_keys, key)
            else:
                numbers.append(number)
                self._values[key].append(value)
            if value is None:
                self.head.pop(key, None)
            else:
                self.head[key] = value
        self.head_number = number

    def get(self, key: bytes, number: int) -> bytes | None:
        """The value of ``key`` at block ``number``."""
        if number >= self.head_number:
            return self.head.get(key)
        numbers = self._numbers.get(key)
        if numbers is None:
            return None
        index = bisect_right(numbers, number) - 1
        return None if index < 0 else self._values[key][index]

    def next_key(self, key: bytes, number: int) -> bytes | None:
        """The first key strictly greater than ``key`` that has a value at ``number``."""
        keys = self._sorted_keys
        index = bisect_right(keys, key)
        while index < len(keys):
            candidate = keys[index]
            if self.get(candidate, number) is not None:
                return candidate
            index += 1
        return None

    def keys_with_prefix(self, prefix: bytes, number: int, start: bytes | None = None) -> Iterator[bytes]:
        """Keys under ``prefix`` with a value at ``number``, ascending, strictly after ``start``."""
        keys = self._sorted_keys
        if start is None or start < prefix:
            index = bisect_left(keys, prefix)
        else:
            index = bisect_right(keys, start)
        while index < len(keys):
            candidate = keys[index]
            index += 1
            if not candidate.startswith(prefix):
                break
            if self.get(candidate, number) is not None:
                yield candidate

    def changed_between(self, key: bytes, first: int, last: int) -> list[int]:
        """Block numbers in ``[first, last]`` at which ``key`` changed."""
        numbers = self._numbers.get(key, [])
        return numbers[bisect_right(numbers, first - 1) : bisect_right(numbers, last)]

    def view(self, number: int) -> StateView:
        """A read-only view of the state at block ``number``."""
        return StateView(self, number)


class StateView:
    """The runtime's view of storage at one block."""

    __slots__ = ("_history", "number")

    def __init__(self, history: StateHistory, number: int) -> None:
        self._history = history
        self.number = number

    def get(self, key: bytes) -> bytes | None:
        return self._history.get(key, self.number)

    def next_key(self, key: bytes) -> bytes | None:
        return self._history.next_key(key, self.number)
