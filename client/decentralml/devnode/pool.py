"""The transaction pool: ready and future queues linked by provides/requires tags.

A transaction is *ready* when every tag it requires is provided by a ready
transaction (tags already satisfied by the chain state are not required at
all: the runtime leaves them out when it validates). Otherwise it waits in the
*future* queue until a block or another transaction satisfies it. A transaction
taken into a block stays in the pool (*in block*: listed as pending, a
re-submission answered 1013) until that block is imported, i.e. committed and
announced; then it is banned for a while, as a real node does, so re-submitting
it is answered 1012. Pure logic: no IO, no clock of its own.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# Limits and ban time of a real node's defaults (`--pool-limit 8192`, `--pool-kbytes 20480`, 30 min ban).
READY_LIMIT = 8192
FUTURE_LIMIT = 512
BAN_SECONDS = 1800.0
# At most this many banned hashes are remembered (oldest forgotten first); a forgotten included
# transaction is still refused, as stale (1010 "Transaction is outdated").
BAN_LIMIT = 100_000


class PoolError(Exception):
    """A submission refused by the pool, with the real node's JSON-RPC error parts."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(f"{code} {message}: {data}" if data else f"{code} {message}")
        self.code = code
        self.message = message
        self.data = data


def temporarily_banned() -> PoolError:
    return PoolError(1012, "Transaction is temporarily banned")


def already_imported() -> PoolError:
    return PoolError(1013, "Transaction Already Imported")


@dataclass(eq=False)
class PoolEntry:
    """One transaction in the pool and what the runtime said about it."""

    hash: bytes
    xt: bytes
    priority: int
    provides: tuple[bytes, ...]
    requires: tuple[bytes, ...]
    validity: Any = field(repr=False, default=None)


class TransactionPool:
    """Ready (FIFO) and future transactions, duplicate detection and bans."""

    def __init__(self, *, ready_limit: int = READY_LIMIT, future_limit: int = FUTURE_LIMIT) -> None:
        self.ready: OrderedDict[bytes, PoolEntry] = OrderedDict()
        self.future: dict[bytes, PoolEntry] = {}
        self.in_block: OrderedDict[bytes, PoolEntry] = OrderedDict()  # in a block not yet imported
        self._ready_tags: dict[bytes, bytes] = {}  # tag -> hash of the ready tx providing it
        self._future_tags: dict[bytes, bytes] = {}
        self._banned: OrderedDict[bytes, float] = OrderedDict()  # hash -> ban expiry
        self._ready_limit = ready_limit
        self._future_limit = future_limit

    def __len__(self) -> int:
        return len(self.ready) + len(self.future) + len(self.in_block)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self.ready or tx_hash in self.future or tx_hash in self.in_block

    def check_known(self, tx_hash: bytes, now: float) -> None:
        """Refuse a transaction that is banned (1012) or already in the pool (1013)."""
        self._expire_bans(now)
        if tx_hash in self._banned:
            raise temporarily_banned()
        if tx_hash in self:
            raise already_imported()

    def ban(self, hashes: Iterable[bytes], now: float) -> None:
        """Ban hashes (included or dropped transactions) for :data:`BAN_SECONDS`."""
        for tx_hash in hashes:
            self._banned[tx_hash] = now + BAN_SECONDS
            self._banned.move_to_end(tx_hash)
        while len(self._banned) > BAN_LIMIT:
            self._banned.popitem(last=False)

    def _expire_bans(self, now: float) -> None:
        while self._banned:
            tx_hash, expiry = next(iter(self._banned.items()))
            if expiry > now:
                break
            del self._banned[tx_hash]

    def import_entry(self, entry: PoolEntry) -> tuple[str, list[PoolEntry]]:
        """Add a validated transaction; return its status ("ready"/"future") and the entries it replaced.

        A transaction providing a tag another pool transaction already provides
        (same sender and nonce) replaces it only with a higher priority, else 1014.
        """
        replaced: list[PoolEntry] = []
        for tag in entry.provides:
            other_hash = self._ready_tags.get(tag) or self._future_tags.get(tag)
            if other_hash is None:
                continue
            other = self.ready.get(other_hash) or self.future[other_hash]
            if entry.priority <= other.priority:
                raise PoolError(
                    1014,
                    f"Priority is too low: ({other.priority} vs {entry.priority})",
                    "The transaction has too low priority to replace another transaction already in the pool.",
                )
            if other not in replaced:
                replaced.append(other)
        for other in replaced:
            self.remove(other.hash)
        if all(tag in self._ready_tags for tag in entry.requires):
            if len(self.ready) >= self._ready_limit:
                raise PoolError(1016, "Immediately Dropped", "The transaction couldn't enter the pool because of the limit")
            self._add_ready(entry)
            return "ready", replaced
        if len(self.future) >= self._future_limit:
            raise PoolError(1016, "Immediately Dropped", "The transaction couldn't enter the pool because of the limit")
        self.future[entry.hash] = entry
        for tag in entry.provides:
            self._future_tags[tag] = entry.hash
        return "future", replaced

    def _add_ready(self, entry: PoolEntry) -> None:
        self.ready[entry.hash] = entry
        for tag in entry.provides:
            self._ready_tags[tag] = entry.hash

    def promote(self) -> list[PoolEntry]:
        """Move future transactions whose requirements are now provided to ready; return them."""
        promoted: list[PoolEntry] = []
        moved = True
        while moved and self.future:
            moved = False
            for entry in list(self.future.values()):
                if all(tag in self._ready_tags for tag in entry.requires):
                    self._drop_future(entry)
                    self._add_ready(entry)
                    promoted.append(entry)
                    moved = True
        return promoted

    def pop_ready(self) -> PoolEntry | None:
        """Take the oldest ready transaction (its tags stay provided until :meth:`included`)."""
        if not self.ready:
            return None
        _, entry = self.ready.popitem(last=False)
        return entry

    def included(self, entry: PoolEntry) -> None:
        """Forget the tags of a transaction taken by :meth:`pop_ready` once its block exists."""
        for tag in entry.provides:
            if self._ready_tags.get(tag) == entry.hash:
                del self._ready_tags[tag]

    def in_block_until_imported(self, entries: Iterable[PoolEntry]) -> None:
        """Keep transactions a built block holds in the pool until :meth:`imported`."""
        for entry in entries:
            self.in_block[entry.hash] = entry

    def imported(self, hashes: Iterable[bytes], now: float) -> None:
        """The block holding these transactions was imported: they leave the pool, banned (:meth:`ban`)."""
        hashes = list(hashes)
        for tx_hash in hashes:
            self.in_block.pop(tx_hash, None)
        self.ban(hashes, now)

    def remove(self, tx_hash: bytes) -> PoolEntry | None:
        """Remove a transaction from either queue."""
        entry = self.ready.pop(tx_hash, None)
        if entry is not None:
            for tag in entry.provides:
                if self._ready_tags.get(tag) == tx_hash:
                    del self._ready_tags[tag]
            return entry
        entry = self.future.get(tx_hash)
        if entry is not None:
            self._drop_future(entry)
        return entry

    def _drop_future(self, entry: PoolEntry) -> None:
        del self.future[entry.hash]
        for tag in entry.provides:
            if self._future_tags.get(tag) == entry.hash:
                del self._future_tags[tag]

    def revalidate_future(self, validate: Callable[[bytes], PoolEntry]) -> tuple[list[PoolEntry], list[tuple[PoolEntry, Exception]]]:
        """Re-check future transactions against new state.

        ``validate`` returns a fresh entry or raises; returns (promoted, dropped with reason).
        """
        dropped: list[tuple[PoolEntry, Exception]] = []
        for entry in list(self.future.values()):
            try:
                fresh = validate(entry.xt)
            except Exception as exc:  # the runtime's refusal: the tx can never be valid now
                self._drop_future(entry)
                dropped.append((entry, exc))
                continue
            entry.requires = fresh.requires
            entry.priority = fresh.priority
            entry.validity = fresh.validity
        return self.promote(), dropped

    def pending(self) -> list[bytes]:
        """Every extrinsic in the pool: those in a block being imported, then ready, then future."""
        return [e.xt for e in (*self.in_block.values(), *self.ready.values(), *self.future.values())]
