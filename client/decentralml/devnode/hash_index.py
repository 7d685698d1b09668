"""When each block hash goes into the store's hash index: a sweep over the key space.

A block hash is random, so a B-tree keyed by hashes takes each new block's entry on
a page of its own: written one commit at a time, every block dirties one more
index page (a 4 KiB page in the WAL and again at checkpoint) once the index has
more pages than a commit has blocks, which made the cost of a block grow with the
chain. Instead the hashes of new blocks wait in memory (:class:`PendingHashes`)
and a cursor sweeps the key space (the first :data:`PREFIX` bytes of a hash, as a
big-endian integer): each commit advances it by ``blocks / batch`` of the space
and writes, in key order, the waiting hashes it passes. Each index page is then
written about once per sweep (``batch`` blocks) instead of once per block, evenly
over the commits (no commit writes the whole batch), and a hash waits at most
one sweep.

``indexed`` is the number of the first block that may not be in the index yet:
every block added before a sweep began is written by the end of that sweep, so at
each wrap of the cursor ``indexed`` becomes the first block of the sweep just
completed. On restart the hashes of blocks from ``indexed`` on (at most about two
sweeps, whatever the chain length) are read back into memory; writing one of them
again is harmless (the index ignores a duplicate). Nothing here does IO.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sortedcontainers import SortedDict

# Bytes of a block hash that key the index (the full hash is checked against the block row).
PREFIX = 8
KEY_SPACE = 1 << (8 * PREFIX)


@dataclass(frozen=True)
class SweepStep:
    """What one commit writes to the index and the sweep's position after it."""

    rows: list[tuple[bytes, int]]  # (hash prefix, block number), in key order
    merged: list[bytes]  # hashes written (no longer waiting)
    cursor: int
    sweep_start: int
    indexed: int


class PendingHashes:
    """The block hashes not yet written to the index, and the sweep that writes them.

    ``batch``: blocks per full sweep (each index page is written about once per sweep);
    at most about ``batch`` hashes wait (140 bytes each), twice that just after a restart.
    ``cursor``, ``sweep_start``, ``indexed``: the position a store recorded. Raises ValueError
    for a batch below 1 or a cursor outside the key space.
    """

    def __init__(self, batch: int, *, cursor: int = 0, sweep_start: int = 0, indexed: int = 0,
                 waiting: Iterable[tuple[bytes, int]] = ()) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1 block")
        if not 0 <= cursor < KEY_SPACE:
            raise ValueError(f"cursor {cursor} outside the key space")
        self.batch = batch
        self.cursor = cursor
        self.sweep_start = sweep_start
        self.indexed = indexed
        self._waiting: SortedDict = SortedDict(waiting)

    def get(self, block_hash: bytes) -> int | None:
        """The number of a waiting block with this hash, or None."""
        return self._waiting.get(block_hash)

    def __len__(self) -> int:
        return len(self._waiting)

    def step(self, new: Sequence[tuple[bytes, int]], next_number: int) -> SweepStep:
        """The index rows of a commit adding ``new`` (hash, number) pairs; ``next_number`` follows its last block.

        Pure: :meth:`apply` records the step once the commit succeeded.
        """
        advance = -(-KEY_SPACE * len(new) // self.batch)
        if advance >= KEY_SPACE:  # a whole sweep (or more) in one commit: everything is written
            slices: list[tuple[bytes, bytes | None]] = [(bytes(PREFIX), None)]
            cursor, sweep_start, indexed = self.cursor, next_number, next_number
        else:
            end = self.cursor + advance
            if end < KEY_SPACE:
                slices = [(_key(self.cursor), _key(end))]
                cursor, sweep_start, indexed = end, self.sweep_start, self.indexed
            else:  # the cursor wraps: the sweep that began at sweep_start is complete
                cursor = end - KEY_SPACE
                slices = [(_key(self.cursor), None), (bytes(PREFIX), _key(cursor))]
                sweep_start, indexed = next_number, self.sweep_start
        merged: dict[bytes, int] = {}
        for low, high in slices:
            for block_hash in self._waiting.irange(low, high, inclusive=(True, False)):
                merged[block_hash] = self._waiting[block_hash]
            for block_hash, number in new:
                if block_hash >= low and (high is None or block_hash < high):
                    merged[block_hash] = number
        rows = sorted((block_hash[:PREFIX], number) for block_hash, number in merged.items())
        return SweepStep(rows, list(merged), cursor, sweep_start, indexed)

    def apply(self, new: Sequence[tuple[bytes, int]], step: SweepStep) -> None:
        """Record a committed step: ``new`` waits unless the step wrote it."""
        self._waiting.update(new)
        for block_hash in step.merged:
            del self._waiting[block_hash]
        self.cursor, self.sweep_start, self.indexed = step.cursor, step.sweep_start, step.indexed


def _key(position: int) -> bytes:
    """The smallest hash prefix at ``position`` of the key space (hashes compare as bytes)."""
    return position.to_bytes(PREFIX, "big")
