"""Storage over a window of blocks, kept as per-key change history, pruned as a Substrate node prunes.

Each key keeps the block numbers at which it changed and the value it took
(``None`` for a removal); the state at block ``n`` is, per key, the last change
at or before ``n`` (a bisect). The head state is also kept as a plain dict so
that block building reads it at dict speed. Nothing here does IO.

Pruning (``keep`` blocks, Substrate's ``--state-pruning N``): the state of
blocks older than the last ``keep`` is discarded. Every block's changed keys are
remembered; when a block leaves the window, each of its keys drops the history
no kept block can see, and a key whose last kept change is a removal is forgotten
altogether (as the per-block ``System.BlockHash`` keys are once the runtime
removes them). Memory is then the head state plus ``keep`` blocks of changes,
whatever the chain length. Reads of discarded state raise :class:`StateDiscarded`.

The ordered key set is a ``sortedcontainers.SortedList``: logarithmic insert
and delete at millions of keys, where a plain sorted list pays a linear move on
every insert (a well-kept, pure-Python, dependency-free library).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Iterable, Iterator, Mapping

from sortedcontainers import SortedList


class StateDiscarded(LookupError):
    """The state at ``number`` was pruned (the node keeps the last ``keep`` blocks' state)."""

    def __init__(self, number: int) -> None:
        super().__init__(f"the state of block {number} was discarded")
        self.number = number


class StateHistory:
    """Raw storage (key -> SCALE value) at every kept block number.

    ``keep=None`` is an archive (every block's state from genesis); ``keep=N``
    keeps the state of the last ``N`` blocks once :meth:`prune` is called.
    """

    def __init__(self, keep: int | None = None) -> None:
        if keep is not None and keep < 1:
            raise ValueError("keep must be at least 1 block")
        self.keep = keep
        self._numbers: dict[bytes, list[int]] = {}
        self._values: dict[bytes, list[bytes | None]] = {}
        self._sorted_keys: SortedList = SortedList()
        self._changed: deque[tuple[int, tuple[bytes, ...]]] = deque()
        self.head: dict[bytes, bytes] = {}
        self.head_number = -1
        self.floor = 0

    def load_base(self, number: int, state: Iterable[tuple[bytes, bytes]]) -> None:
        """Start from the full ``state`` at block ``number`` (nothing older is readable)."""
        if self.head_number >= 0:
            raise ValueError("load_base needs an empty history")
        for key, value in state:
            self._numbers[key] = [number]
            self._values[key] = [value]
            self.head[key] = value
        self._sorted_keys.update(self.head)
        self.head_number = number
        self.floor = number

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
                self._sorted_keys.add(key)
            else:
                numbers.append(number)
                self._values[key].append(value)
            if value is None:
                self.head.pop(key, None)
            else:
                self.head[key] = value
        if self.keep is not None and changes:
            self._changed.append((number, tuple(changes)))
        self.head_number = number

    def prune(self, best: int, hold: int | None = None) -> None:
        """Discard the state of blocks older than the last ``keep`` up to ``best`` (no-op for an archive).

        ``hold``: the oldest block whose state must stay readable whatever the window (a block
        pinned by a chainHead subscription: sc-state-db stops pruning at a pinned block).
        """
        if self.keep is None:
            return
        floor = min(max(best - self.keep + 1, 0), self.head_number)
        if hold is not None:
            floor = min(floor, hold)
        if floor <= self.floor:
            return
        self.floor = floor
        changed = self._changed
        while changed and changed[0][0] < floor:
            _, keys = changed.popleft()
            for key in keys:
                self._compact(key, floor)

    def _compact(self, key: bytes, floor: int) -> None:
        numbers = self._numbers.get(key)
        if numbers is None:
            return
        index = bisect_right(numbers, floor) - 1  # the change that holds at the floor
        if index > 0:
            del numbers[:index]
            del self._values[key][:index]
        if len(numbers) == 1 and numbers[0] <= floor and self._values[key][0] is None:
            del self._numbers[key]
            del self._values[key]
            self._sorted_keys.remove(key)

    def _check(self, number: int) -> None:
        if number < self.floor:
            raise StateDiscarded(number)

    def get(self, key: bytes, number: int) -> bytes | None:
        """The value of ``key`` at block ``number``; StateDiscarded if that state was pruned."""
        if number >= self.head_number:
            return self.head.get(key)
        self._check(number)
        numbers = self._numbers.get(key)
        if numbers is None:
            return None
        index = bisect_right(numbers, number) - 1
        return None if index < 0 else self._values[key][index]

    def next_key(self, key: bytes, number: int) -> bytes | None:
        """The first key strictly greater than ``key`` that has a value at ``number``."""
        self._check(number)
        for candidate in self._sorted_keys.irange(minimum=key, inclusive=(False, True)):
            if self.get(candidate, number) is not None:
                return candidate
        return None

    def keys_with_prefix(self, prefix: bytes, number: int, start: bytes | None = None) -> Iterator[bytes]:
        """Keys under ``prefix`` with a value at ``number``, ascending, strictly after ``start``."""
        self._check(number)
        if start is None or start < prefix:
            candidates = self._sorted_keys.irange(minimum=prefix)
        else:
            candidates = self._sorted_keys.irange(minimum=start, inclusive=(False, True))
        for candidate in candidates:
            if not candidate.startswith(prefix):
                break
            if self.get(candidate, number) is not None:
                yield candidate

    def changed_between(self, key: bytes, first: int, last: int) -> list[int]:
        """Block numbers in ``[first, last]`` at which ``key`` changed."""
        self._check(first)
        numbers = self._numbers.get(key, [])
        return numbers[bisect_right(numbers, first - 1) : bisect_right(numbers, last)]

    def view(self, number: int) -> StateView:
        """A read-only view of the state at block ``number``; StateDiscarded if that state was pruned."""
        self._check(number)
        return StateView(self, number)

    def __len__(self) -> int:
        """Number of keys with a kept history (live keys and keys removed within the window)."""
        return len(self._sorted_keys)


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
