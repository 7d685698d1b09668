"""The dev chain around the pure runtime: blocks, state history, pool, sealing, notifications.

Everything here runs on one asyncio event loop. Reads, submissions and block
building are plain synchronous calls; the only awaits are the durable commit
(SQLite in a worker thread) and the wait for work. A block is *built* as soon
as there is work, becomes *published* (visible to RPC reads, announced to
subscribers, finalized) only once the store has committed it.

Pruning as a Substrate node: ``state_pruning`` keeps the state of the last N
blocks (``None``: archive); ``blocks_pruning`` keeps the bodies of the last N
blocks (``None``: every body, Substrate's ``archive-canonical``). Headers are
always kept. With a store, only the most recent blocks stay in memory; older
ones are read from the store on request.

Sealing: by default one block per ready transaction (instant seal); with
``block_time`` one block every interval holding every ready transaction.
:meth:`DevNode.new_blocks` produces empty blocks on request.

Finality is a step of its own, as GRANDPA makes it on a node: a published block
is the new *best* block at once (watchers get ``inBlock``, new-head and
chainHead subscribers hear of it), and is *finalized* later: with instant seal
``finality_delay`` seconds after it was published (every block up to the best
one), with ``block_time`` when it is ``finality_lag`` blocks behind the best one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from decentralml.devnode.codec import CodecError, Header, blake2_256, decode_header, split_opaque
from decentralml.devnode.history import StateHistory, StateView
from decentralml.devnode.keys import TIMESTAMP_NOW
from decentralml.devnode.pool import PoolEntry, PoolError, TransactionPool
from decentralml.devnode.store import ChainStore, StoredBlock, purge_hint
from decentralml.errors import ConfigError

log = logging.getLogger(__name__)

# Substrate's default --state-pruning (blocks whose state a node keeps).
DEFAULT_STATE_PRUNING = 256
# Blocks kept in memory (older ones are read from the store); more than one commit's worth.
RECENT_BLOCKS = 1024
# Upper bounds on the work done between two commits, so inclusion latency stays bounded under load.
MAX_BLOCKS_PER_COMMIT = 256
MAX_BUILD_SECONDS_PER_COMMIT = 0.05
# Interval mode: at most this many transactions per block (the runtime's weight limit may stop earlier).
MAX_TXS_PER_BLOCK = 2000
# Finality on a single-authority GRANDPA dev chain trails the best block by one or two blocks.
DEFAULT_FINALITY_LAG = 1
# Instant seal: the finalized notice follows the inBlock one after this long, so a client that
# reads the block on inBlock (@polkadot/api's signAndSend) sees both statuses, as with a node.
DEFAULT_FINALITY_DELAY = 0.1
# Refusals at block building that mean "not in this block" rather than "never": the tx goes back to the pool.
RETRY_NEXT_BLOCK = ("Transaction would exhaust the block limits", "Transaction will be valid in the future")


class Runtime(Protocol):
    """What the node needs from :mod:`decentralml.devnode.runtime`."""

    metadata_v14: bytes
    metadata_v15: bytes

    def runtime_version(self) -> dict[str, Any]: ...
    def properties(self) -> dict[str, Any]: ...
    def genesis(self) -> tuple[dict[bytes, bytes], bytes, bytes]: ...
    def validate_transaction(self, state: Any, xt: bytes, parent_hash: bytes | None = None, *, allow_future: bool = False) -> Any: ...
    def build_block(self, state: Any, parent_hash: bytes, number: int, timestamp_ms: int, extrinsics: list[bytes]) -> Any: ...
    def state_call(self, state: Any, method: str, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class Block:
    """A sealed block: SCALE header, hash (blake2-256 of the header) and extrinsics."""

    number: int
    hash: bytes
    header: bytes
    extrinsics: tuple[bytes, ...] | None  # None once blocks pruning dropped the body

    @cached_property
    def decoded(self) -> Header:
        return decode_header(self.header)


# A tx status notification: "ready", "future", {"inBlock": "0x.."}, {"finalized": "0x.."}, "invalid", "dropped".
Watcher = Callable[[object], None]
BlockListener = Callable[[Block, Mapping[bytes, bytes | None]], None]
# Called with the newly finalized blocks, oldest first.
FinalityListener = Callable[[list[Block]], None]


@dataclass
class _EmptyBlocksRequest:
    remaining: int
    future: asyncio.Future[list[Block]]
    produced: list[Block] = field(default_factory=list)


@dataclass
class _Built:
    block: Block
    changes: Mapping[bytes, bytes | None]
    included: list[PoolEntry]
    rejected: list[tuple[PoolEntry, Exception]]
    request: _EmptyBlocksRequest | None = None


def pool_error_from(exc: Exception) -> PoolError:
    """The runtime's refusal as the JSON-RPC error a real node returns."""
    code = getattr(exc, "code", None)
    if isinstance(exc, PoolError):
        return exc
    if isinstance(code, int) and hasattr(exc, "message"):
        return PoolError(code, str(exc.message), getattr(exc, "data", None))
    detail = f"Runtime error: Execution failed: {exc}"
    return PoolError(1002, f"Verification Error: {detail}", repr(detail))


class DevNode:
    """One dev chain: the runtime, its history, a pool and a block producer."""

    def __init__(
        self,
        runtime: Runtime,
        store: ChainStore | None = None,
        *,
        block_time: float | None = None,
        finality_lag: int = DEFAULT_FINALITY_LAG,
        finality_delay: float = DEFAULT_FINALITY_DELAY,
        clock: Callable[[], float] = time.time,
        state_pruning: int | None = None,
        blocks_pruning: int | None = None,
    ) -> None:
        for name, value in (("state pruning", state_pruning), ("blocks pruning", blocks_pruning)):
            if value is not None and value < 1:
                raise ConfigError(f"The {name} must keep at least 1 block (or be archive).")
        if finality_lag < 0 or finality_delay < 0:
            raise ValueError("finality_lag and finality_delay must not be negative")
        self.runtime = runtime
        self.store = store
        self.block_time = block_time
        self.blocks_pruning = blocks_pruning
        self.finality_lag = finality_lag
        self.finality_delay = finality_delay
        self._clock = clock
        self.history = StateHistory(state_pruning)
        self.pool = TransactionPool()
        self._recent: dict[int, Block] = {}
        self._by_hash: dict[bytes, int] = {}
        self._genesis_hash = b""
        self._head: Block | None = None
        self._published = -1
        self._finalized = -1
        self._finality_timer: asyncio.TimerHandle | None = None
        self._awaiting_finality: deque[tuple[int, list[bytes]]] = deque()  # (block number, tx hashes)
        self._last_timestamp = 0
        self._watchers: dict[bytes, list[Watcher]] = {}
        self._block_listeners: dict[int, BlockListener] = {}
        self._finality_listeners: dict[int, FinalityListener] = {}
        self._next_listener = 0
        self._empty_requests: deque[_EmptyBlocksRequest] = deque()
        self._pins: dict[int, int] = {}  # block number -> how many times it is pinned
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._executor: ThreadPoolExecutor | None = None

    # ---- start-up -------------------------------------------------------------------------

    def start(self) -> None:
        """Load the chain from the store (its state and kept window, not every block), or write genesis."""
        storage, header, genesis_hash = self.runtime.genesis()
        stored = self.store.load(RECENT_BLOCKS) if self.store is not None else None
        if stored is not None and stored.best >= 0:
            assert self.store is not None
            first = self.store.block(0)
            if first is None or first.hash != genesis_hash:
                found = "none" if first is None else "0x" + first.hash.hex()
                raise ConfigError(
                    f"The chain data in {self.store.path.parent} was made by a different runtime "
                    f"(genesis {found}, this runtime 0x{genesis_hash.hex()}).",
                    hint=purge_hint(self.store.base_path, ", or use another --base-path"),
                )
            self._genesis_hash = genesis_hash
            changes = stored.changes
            if stored.base:
                self.history.load_base(stored.floor - 1, stored.base)
            for number, block_changes in changes:
                self.history.apply(number, block_changes)
            if self.history.head_number < stored.best:  # blocks after the last change changed nothing
                self.history.head_number = stored.best
            for item in stored.recent:
                self._remember(Block(item.number, item.hash, item.header, item.extrinsics))
            self._head = self._recent[stored.best]
        else:
            genesis = StoredBlock(0, genesis_hash, header, (), dict(storage))
            if self.store is not None:
                self.store.append([genesis])
                self.store.set_meta("genesis_hash", genesis_hash)
                self.store.set_meta("runtime_version", json.dumps(self.runtime.runtime_version()).encode())
            self._genesis_hash = genesis_hash
            self._append(Block(0, genesis_hash, header, ()), genesis.changes)
        self._published = self._head.number if self._head else 0
        self._finalized = self._published  # a stored chain restarts fully finalized
        self.history.prune(self._finalized)
        now = self.history.get(TIMESTAMP_NOW, self._published)
        self._last_timestamp = int.from_bytes(now, "little") if now else 0

    def _remember(self, block: Block) -> None:
        self._recent[block.number] = block
        self._by_hash[block.hash] = block.number
        self._head = block
        if self.store is not None:  # older blocks are committed (a commit holds far fewer) and read back on request
            old = self._recent.pop(block.number - RECENT_BLOCKS, None)
            if old is not None:
                self._by_hash.pop(old.hash, None)

    def _append(self, block: Block, changes: Mapping[bytes, bytes | None]) -> None:
        self.history.apply(block.number, changes)
        self._remember(block)

    def _floors(self) -> tuple[int | None, int | None]:
        """(state floor, body floor) for the finalized block: what the store may drop (never a pinned block)."""
        best = self._finalized
        keep = self.history.keep
        state = None if keep is None else max(best - keep + 1, 0)
        body = None if self.blocks_pruning is None else max(best - self.blocks_pruning + 1, 0)
        oldest_pin = self.oldest_pin
        if oldest_pin is not None:
            state = None if state is None else min(state, oldest_pin)
            body = None if body is None else min(body, oldest_pin)
        return state, body

    # ---- pinning ----------------------------------------------------------------------------

    def pin(self, number: int) -> None:
        """Keep block ``number``'s state and body readable past the pruning windows until :meth:`unpin`.

        As sc-client-db's ``pin_block`` (what a chainHead_v1 follow subscription does for each
        block it announces): pins are counted, pruning stops at the oldest pinned block and
        goes on once it is unpinned (at the next finalized block).
        """
        self._pins[number] = self._pins.get(number, 0) + 1

    def unpin(self, number: int) -> None:
        count = self._pins.get(number, 0)
        if count <= 1:
            self._pins.pop(number, None)
        else:
            self._pins[number] = count - 1

    def is_pinned(self, number: int) -> bool:
        return number in self._pins

    @property
    def pinned_blocks(self) -> int:
        """Distinct blocks pinned (by every subscription together)."""
        return len(self._pins)

    @property
    def oldest_pin(self) -> int | None:
        return min(self._pins) if self._pins else None

    # ---- reads (published blocks only) ------------------------------------------------------

    @property
    def best_number(self) -> int:
        return self._published

    @property
    def best(self) -> Block:
        block = self.block(self._published)
        assert block is not None
        return block

    @property
    def finalized_number(self) -> int:
        return self._finalized

    @property
    def finalized(self) -> Block:
        block = self.block(self._finalized)
        assert block is not None
        return block

    @property
    def genesis_hash(self) -> bytes:
        return self._genesis_hash

    def block(self, number: int) -> Block | None:
        """The published block at ``number`` (``extrinsics`` None if its body was pruned)."""
        if not 0 <= number <= self._published:
            return None
        block = self._recent.get(number)
        if block is None and self.store is not None:
            stored = self.store.block(number)
            if stored is not None:
                block = Block(stored.number, stored.hash, stored.header, stored.extrinsics)
        if (
            block is not None
            and self.blocks_pruning is not None
            and number <= self._published - self.blocks_pruning
            and number not in self._pins
        ):
            block = Block(block.number, block.hash, block.header, None)
        return block

    def block_by_hash(self, block_hash: bytes) -> Block | None:
        number = self._by_hash.get(block_hash)
        if number is None and self.store is not None:
            number = self.store.number_of(block_hash)
        return None if number is None else self.block(number)

    def view(self, number: int) -> StateView:
        """State after the published block ``number``."""
        return self.history.view(number)

    def runtime_version(self) -> dict[str, Any]:
        return self.runtime.runtime_version()

    # ---- subscriptions ----------------------------------------------------------------------

    def add_block_listener(self, listener: BlockListener) -> int:
        """Call ``listener(block, changes)`` for every newly published (and finalized) block."""
        self._next_listener += 1
        self._block_listeners[self._next_listener] = listener
        return self._next_listener

    def remove_block_listener(self, token: int) -> None:
        self._block_listeners.pop(token, None)

    def add_finality_listener(self, listener: FinalityListener) -> int:
        """Call ``listener(blocks)`` with every group of newly finalized blocks (oldest first)."""
        self._next_listener += 1
        self._finality_listeners[self._next_listener] = listener
        return self._next_listener

    def remove_finality_listener(self, token: int) -> None:
        self._finality_listeners.pop(token, None)

    def watch(self, tx_hash: bytes, watcher: Watcher) -> None:
        """Report the later statuses of a pooled transaction to ``watcher``."""
        self._watchers.setdefault(tx_hash, []).append(watcher)

    def unwatch(self, tx_hash: bytes, watcher: Watcher) -> None:
        watchers = self._watchers.get(tx_hash)
        if watchers and watcher in watchers:
            watchers.remove(watcher)
            if not watchers:
                del self._watchers[tx_hash]

    def _notify_tx(self, tx_hash: bytes, status: object, final: bool = False) -> None:
        watchers = self._watchers.pop(tx_hash, None) if final else self._watchers.get(tx_hash)
        for watcher in list(watchers or ()):
            try:
                watcher(status)
            except Exception:  # a broken client connection must not stop the chain
                log.exception("transaction watcher failed")

    # ---- transactions -----------------------------------------------------------------------

    def _validate(self, xt: bytes) -> PoolEntry:
        state = self.history.view(self.history.head_number)
        try:
            valid = self.runtime.validate_transaction(state, xt, self._built_head.hash, allow_future=True)
        except Exception as exc:
            raise pool_error_from(exc) from None
        return PoolEntry(
            hash=blake2_256(xt),
            xt=xt,
            priority=int(getattr(valid, "priority", 0)),
            provides=tuple(bytes(t) for t in getattr(valid, "provides", ())),
            requires=tuple(bytes(t) for t in getattr(valid, "requires", ())),
            validity=valid,
        )

    def submit(self, xt: bytes) -> tuple[bytes, str]:
        """Validate and pool an encoded extrinsic; return its hash and status ("ready"/"future").

        Raises :class:`PoolError` with the real node's code, message and data.
        """
        try:
            xt, _ = split_opaque(xt)
        except CodecError as exc:
            # A real node answers a body that is not even length-prefixed bytes with its generic client error.
            raise PoolError(-32000, f"Client error: {exc}") from None
        tx_hash = blake2_256(xt)
        self.pool.check_known(tx_hash, self._clock())
        entry = self._validate(xt)
        status, replaced = self.pool.import_entry(entry)
        for other in replaced:
            self._notify_tx(other.hash, {"usurped": "0x" + tx_hash.hex()}, final=True)
        if status == "ready":
            for promoted in self.pool.promote():
                self._notify_tx(promoted.hash, "ready")
            self._wakeup()
        return tx_hash, status

    def remove_extrinsic(self, tx_hash: bytes) -> bool:
        """Drop a pooled transaction (author_removeExtrinsic)."""
        entry = self.pool.remove(tx_hash)
        if entry is None:
            return False
        self._notify_tx(tx_hash, "dropped", final=True)
        return True

    # ---- block production -------------------------------------------------------------------

    async def new_blocks(self, count: int) -> list[Block]:
        """Produce ``count`` empty blocks (after anything already pending); return them once published."""
        future: asyncio.Future[list[Block]] = asyncio.get_running_loop().create_future()
        if count <= 0:
            future.set_result([])
            return await future
        self._empty_requests.append(_EmptyBlocksRequest(count, future))
        self._wakeup()
        return await future

    def _wakeup(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wakeup()

    def _next_timestamp(self) -> int:
        """Wall-clock time, never behind the last block (the runtime adds MinimumPeriod as manual seal does)."""
        return max(int(self._clock() * 1000), self._last_timestamp)

    def _build(self, entries: list[PoolEntry]) -> _Built:
        """Build one block on the built head; a runtime failure caused by transactions drops them, not the node."""
        if not entries:
            return self._build_unchecked(entries)
        try:
            return self._build_unchecked(entries)
        except Exception:
            log.exception("the runtime failed to build a block; dropping its %d transaction(s)", len(entries))
            for entry in entries:
                self.pool.included(entry)
                self._notify_tx(entry.hash, "invalid", final=True)
            self.pool.ban([e.hash for e in entries], self._clock())
            return self._build_unchecked([])

    @property
    def _built_head(self) -> Block:
        assert self._head is not None, "start() first"
        return self._head

    def _build_unchecked(self, entries: list[PoolEntry]) -> _Built:
        parent = self._built_head
        number = parent.number + 1
        state = self.history.view(self.history.head_number)
        result = self.runtime.build_block(state, parent.hash, number, self._next_timestamp(), [e.xt for e in entries])
        block = Block(number, bytes(result.hash), bytes(result.header), tuple(bytes(x) for x in result.extrinsics))
        self._last_timestamp = int(getattr(result, "timestamp_ms", 0) or self._last_timestamp)
        self._append(block, result.changes)
        refused = {bytes(xt): exc for xt, exc in result.rejected}
        included = [e for e in entries if e.xt not in refused]
        retry = [e for e in entries if len(entries) > 1 and getattr(refused.get(e.xt), "data", None) in RETRY_NEXT_BLOCK]
        rejected = [(e, refused[e.xt]) for e in entries if e.xt in refused and e not in retry]
        for entry in entries:
            self.pool.included(entry)
        self.pool.in_block_until_imported(included)  # until the block is published
        now = self._clock()
        self.pool.ban([e.hash for e, _ in rejected], now)
        for entry in retry:  # the block was full: back to the pool for the next one
            try:
                self.pool.import_entry(self._validate(entry.xt))
            except PoolError as exc:
                rejected.append((entry, exc))
        if self.pool.future:
            promoted, dropped = self.pool.revalidate_future(self._validate)
            for entry in promoted:
                self._notify_tx(entry.hash, "ready")
            for entry, _ in dropped:
                self._notify_tx(entry.hash, "invalid", final=True)
        return _Built(block, result.changes, included, rejected)

    def _build_batch(self, interval_due: bool) -> list[_Built]:
        """Build what is pending now, within the per-commit bounds."""
        built: list[_Built] = []
        deadline = time.perf_counter() + MAX_BUILD_SECONDS_PER_COMMIT
        if self.block_time is not None and interval_due:
            entries: list[PoolEntry] = []
            while len(entries) < MAX_TXS_PER_BLOCK and (entry := self.pool.pop_ready()) is not None:
                entries.append(entry)
            built.append(self._build(entries))
        while len(built) < MAX_BLOCKS_PER_COMMIT and time.perf_counter() < deadline:
            if self.block_time is None and (entry := self.pool.pop_ready()) is not None:
                built.append(self._build([entry]))
                continue
            if self._empty_requests:
                request = self._empty_requests[0]
                item = self._build([])
                item.request = request
                request.remaining -= 1
                if request.remaining == 0:
                    self._empty_requests.popleft()
                built.append(item)
                continue
            break
        return built

    def _has_work(self) -> bool:
        return bool(self._empty_requests) or (self.block_time is None and bool(self.pool.ready))

    async def _persist(self, built: list[_Built]) -> None:
        if self.store is None or not built:
            return
        stored = [StoredBlock(b.block.number, b.block.hash, b.block.header, b.block.extrinsics, b.changes) for b in built]
        loop = asyncio.get_running_loop()
        assert self._executor is not None
        state_floor, body_floor = self._floors()
        await loop.run_in_executor(
            self._executor, lambda: self.store.append(stored, state_floor=state_floor, body_floor=body_floor)  # type: ignore[union-attr]
        )

    def _publish(self, built: list[_Built]) -> None:
        for item in built:
            block = item.block
            self._published = block.number
            block_hex = "0x" + block.hash.hex()
            self.pool.imported([e.hash for e in item.included], self._clock())
            for entry, _ in item.rejected:
                self._notify_tx(entry.hash, "invalid", final=True)
            for entry in item.included:
                self._notify_tx(entry.hash, {"inBlock": block_hex})
            if item.included:
                self._awaiting_finality.append((block.number, [e.hash for e in item.included]))
            for listener in list(self._block_listeners.values()):
                try:
                    listener(block, item.changes)
                except Exception:
                    log.exception("block listener failed")
            if item.request is not None:
                item.request.produced.append(block)
                if item.request.remaining == 0 and not item.request.future.done():
                    item.request.future.set_result(item.request.produced)
        if built:
            self._schedule_finality()

    def _schedule_finality(self) -> None:
        if self.block_time is not None:
            self.finalize(self._published - self.finality_lag)
        elif self.finality_delay == 0:
            self.finalize(self._published)
        elif self._finality_timer is None:
            # One timer at a time: it finalizes whatever is best when it fires.
            loop = asyncio.get_running_loop()
            self._finality_timer = loop.call_later(self.finality_delay, self._finality_due)

    def _finality_due(self) -> None:
        self._finality_timer = None
        self.finalize(self._published)

    def finalize(self, number: int) -> None:
        """Finalize every published block up to ``number``: watchers get ``finalized``, listeners the blocks."""
        number = min(number, self._published)
        if number <= self._finalized:
            return
        blocks = [b for b in (self.block(n) for n in range(self._finalized + 1, number + 1)) if b is not None]
        self._finalized = number
        # As a node prunes: the state of finalized blocks older than the window, but not a pinned block's.
        self.history.prune(number, hold=self.oldest_pin)
        while self._awaiting_finality and self._awaiting_finality[0][0] <= number:
            block_number, hashes = self._awaiting_finality.popleft()
            found = self.block(block_number)
            block_hex = "0x" + (found.hash.hex() if found is not None else "")
            for tx_hash in hashes:
                self._notify_tx(tx_hash, {"finalized": block_hex}, final=True)
        for listener in list(self._finality_listeners.values()):
            try:
                listener(blocks)
            except Exception:
                log.exception("finality listener failed")

    async def run(self) -> None:
        """Produce blocks until :meth:`stop`; raises if the store fails (the node must not go on)."""
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="devnode-store")
        next_tick = loop.time() + self.block_time if self.block_time is not None else None
        try:
            while not self._stopping:
                interval_due = False
                if not self._has_work():
                    timeout = None if next_tick is None else max(0.0, next_tick - loop.time())
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout)
                    except TimeoutError:
                        pass
                self._wake.clear()
                if self._stopping:
                    break
                if next_tick is not None and loop.time() >= next_tick:
                    interval_due = True
                    next_tick = max(next_tick + self.block_time, loop.time())  # type: ignore[operator]
                built = self._build_batch(interval_due)
                if not built:
                    continue
                await self._persist(built)
                self._publish(built)
                await asyncio.sleep(0)  # let clients read between batches
        finally:
            if self._finality_timer is not None:
                self._finality_timer.cancel()
                self._finality_timer = None
            for request in self._empty_requests:
                if not request.future.done():
                    request.future.set_exception(ConfigError("The dev node is stopping."))
            self._executor.shutdown(wait=True)
