"""What the unattended roles share: ``creator run`` and ``contributor run``.

:class:`Role` is the base of :class:`~decentralml.usecases.creator_job.CreatorJob` and
:class:`~decentralml.usecases.contributor_node.ContributorNode`: the journal
(``<work dir>/journal.jsonl``, :class:`~decentralml.usecases.journal.Journal`), the event
sink, one chain connection (opened on demand, dropped when the node is lost), and the
subscription to new heads (:class:`~decentralml.chain.follow.HeadFollower`) that drives
the role's steps. Each role keeps its own state, steps and waiting.
"""

from __future__ import annotations

import abc
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from decentralml.chain.client import PALLET, ChainClient
from decentralml.chain.follow import HeadFollower
from decentralml.errors import NodeUnreachableError
from decentralml.primitives.keypair import Keypair
from decentralml.usecases.journal import Journal

JOURNAL_FILE = "journal.jsonl"

#: Receives every event of a role: journal records and notices (``{"type": ..., "time": ..., ...}``).
EventSink = Callable[[dict[str, Any]], None]
#: A pallet event as read from a block: (module, name, attributes).
PalletEvent = tuple[str, str, Any]

T = TypeVar("T")


class Role(abc.ABC):
    """A long-lived process that follows the chain, journals each step and reports events.

    Subclasses implement :meth:`_wait` (wait up to ``timeout`` seconds for the next item of
    :attr:`queue`: a new head, a node status, or their own items) and drive :meth:`_follow`.
    """

    def __init__(self, *, url: str, connect: Callable[[], ChainClient], keypair: Keypair, work_dir: Path,
                 on_event: EventSink | None = None, stop: threading.Event | None = None) -> None:
        self.url = url
        self.connect = connect
        self.keypair = keypair
        self.on_event: EventSink = on_event or (lambda event: None)
        self.stop = stop or threading.Event()
        self.journal = Journal(Path(work_dir) / JOURNAL_FILE)
        self.queue: queue.Queue[object] = queue.Queue()
        self.chain: ChainClient | None = None
        self.head = 0

    def request_stop(self) -> None:
        """Ask the role to stop after its current step (safe from a signal handler)."""
        self.stop.set()
        self.queue.put(None)

    # -- output ---------------------------------------------------------------

    def _record(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Append a step to the journal (fsync'd) and report it; returns the record."""
        record = self.journal.append({"type": kind, "time": round(time.time(), 3), **fields})
        self.on_event(record)
        return record

    def _notice(self, kind: str, **fields: Any) -> None:
        """An event that changes nothing to remember (status, retries)."""
        self.on_event({"type": kind, "time": round(time.time(), 3), **fields})

    # -- chain access -----------------------------------------------------------

    def _chain(self) -> ChainClient:
        if self.chain is None:
            self.chain = self.connect()
        return self.chain

    def _drop_chain(self) -> None:
        if self.chain is not None:
            self.chain.close()
            self.chain = None

    def _settle_own_transactions(self) -> None:
        """Wait until none of the role's transactions is still in the pool, so the chain state is final."""
        while self._chain().pending_transactions(self.keypair.ss58_address) > 0:
            self._wait(5.0)

    def _pallet_events(self, after: int) -> Iterator[tuple[int, list[PalletEvent]]]:
        """Each block after ``after`` up to the head, with its events of our pallet, in order."""
        chain = self._chain()
        for number in range(after + 1, self.head + 1):
            _, events = chain.block_events(number)
            yield number, [(m, n, a) for m, n, a in events if m == PALLET]

    # -- following the chain --------------------------------------------------------

    @abc.abstractmethod
    def _wait(self, timeout: float) -> None:
        """Block up to ``timeout`` seconds for the role's next reason to act (a new head, a signal)."""

    def _follow(self, step: Callable[[], T | None]) -> T:
        """Call ``step`` until it returns a value, with the head subscription running.

        A lost node (NodeUnreachableError) drops the connection, reports
        ``{"type": "node", "connected": false}`` and waits for the subscription to reconnect.
        """
        follower = HeadFollower(self.url, self.queue).start()
        try:
            while True:
                try:
                    outcome = step()
                    if outcome is not None:
                        return outcome
                except NodeUnreachableError as exc:
                    self._drop_chain()
                    self._notice("node", connected=False, message=exc.message)
                    self._wait(5.0)
        finally:
            follower.stop()
            self._drop_chain()
