"""When a transaction watcher's ``finalized`` goes out: after the client has read its inBlock block.

With instant seal a block is finalized ``--finality-delay`` after import, well inside the time
@polkadot/api takes to report ``InBlock``: on ``{"inBlock": H}`` its ``signAndSend``
(``submittable/createClass.js``, ``#observeStatus`` behind a ``switchMap``) reads
``chain_getHeader(H)``, ``state_getRuntimeVersion(parent of H)``, then ``chain_getBlock(H)`` and
``state_getStorage(System.Events, H)`` (``api.derive.tx.events``), and drops all of it if
``{"finalized": H}`` arrives first. So, per connection, a watcher's ``finalized`` waits until:

* the connection has been answered a ``chain_getBlock`` and a ``state_getStorage`` at ``H``
  (:data:`BLOCK_READS`), then a WebSocket ping sent after those answers came back as a pong
  (the client has taken in the frames before it, so its reaction to them ran first); or
* :data:`HOLD_BOUND` seconds have passed since the block was finalized.

A connection whose hold ran out without any read at ``H`` does not read the blocks it is told
about (substrate-interface waiting for finalization): its watchers are not held again. Only
this notification waits: the block's finality (finalized heads, chainHead ``finalized``,
``chain_getFinalizedHead``) is as the node's.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

# The reads that complete @polkadot/api's InBlock result (api.derive.tx.events).
BLOCK_READS = frozenset({"chain_getBlock", "state_getStorage"})
# Seconds a watcher's finalized waits at most for the reads.
HOLD_BOUND = 1.0
# Block hashes whose reads a connection remembers (a client reads the newest ones).
REMEMBERED_BLOCKS = 64

Ping = Callable[[Callable[[], None]], None]


@dataclass(eq=False)
class _Held:
    block: str
    release: Callable[[], None]
    timer: asyncio.TimerHandle | None = None
    confirming: bool = False


class FinalizedHold:
    """One connection's held ``finalized`` notifications and the block reads it was answered.

    ``ping(callback)`` sends a WebSocket ping after everything queued and calls ``callback``
    on its pong; None (no WebSocket) releases as soon as the reads are answered.
    """

    def __init__(self, ping: Ping | None = None, bound: float = HOLD_BOUND) -> None:
        self.ping = ping
        self.bound = bound
        self.reads_blocks = True  # until a hold runs out with no read at its block
        self._reads: OrderedDict[str, set[str]] = OrderedDict()
        self._held: dict[str, list[_Held]] = {}  # block hash -> its held watchers

    def read(self, method: str, block_hash: str) -> None:
        """Record that ``method`` at ``block_hash`` (0x hex) was answered; releases what it completes."""
        if method not in BLOCK_READS:
            return
        block = block_hash.lower()
        self._reads.setdefault(block, set()).add(method)
        self._reads.move_to_end(block)
        while len(self._reads) > REMEMBERED_BLOCKS:
            self._reads.popitem(last=False)
        for held in list(self._held.get(block, ())):
            self._check(held)

    def hold(self, block_hash: str, release: Callable[[], None]) -> Callable[[], None]:
        """Call ``release`` (send ``finalized``) once ``block_hash`` was read, or after the bound.

        Returns a cancel function (the watcher is gone: ``release`` is never called).
        """
        if not self.reads_blocks:
            release()
            return lambda: None
        held = _Held(block_hash.lower(), release)
        self._held.setdefault(held.block, []).append(held)
        held.timer = asyncio.get_running_loop().call_later(self.bound, self._expire, held)
        self._check(held)

        def cancel() -> None:
            self._drop(held)

        return cancel

    def close(self) -> None:
        """The connection is gone: nothing held is sent."""
        for waiting in list(self._held.values()):
            for held in list(waiting):
                self._drop(held)

    def _check(self, held: _Held) -> None:
        if held.confirming or not BLOCK_READS <= self._reads.get(held.block, set()):
            return
        held.confirming = True
        if self.ping is None:
            self._fire(held)
        else:
            self.ping(lambda: self._fire(held))

    def _expire(self, held: _Held) -> None:
        if held.block not in self._reads:
            self.reads_blocks = False
        self._fire(held)

    def _fire(self, held: _Held) -> None:
        if self._drop(held):
            held.release()

    def _drop(self, held: _Held) -> bool:
        """Forget ``held``; False when it was already gone (sent or cancelled)."""
        if held.timer is not None:
            held.timer.cancel()
        waiting = self._held.get(held.block)
        if waiting is None or held not in waiting:
            return False
        waiting.remove(held)
        if not waiting:
            del self._held[held.block]
        return True


__all__ = ["BLOCK_READS", "HOLD_BOUND", "FinalizedHold"]
