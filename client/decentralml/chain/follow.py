"""Following the chain from a long-running process: new heads over a subscription, on their own connection.

:class:`HeadFollower` runs ``chain_subscribeNewHeads`` in a background thread
on a WebSocket of its own and puts what it sees on a queue the process's
main loop waits on: :class:`NewHead` for every new best block, and
:class:`NodeStatus` when the node goes away and comes back. A lost
connection is retried with exponential back-off (1 s doubling up to
``max_backoff``); blocks missed meanwhile are not lost because the main loop
reads events block by block from the last one it handled
(:meth:`ChainClient.block_events`).

The subscription speaks JSON-RPC directly (websocket-client) and reads only
the header's number: substrate-interface's SCALE decoders are shared by every
instance in a process and are not safe to use from two threads at once.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from decentralml.errors import ChainError, DecentralMLError, NodeUnreachableError

MAX_MESSAGE_BYTES = 1 << 20


@dataclass(frozen=True)
class NewHead:
    """A new best block, and when the subscription saw it (``time.monotonic()``)."""

    number: int
    seen_at: float = 0.0


@dataclass(frozen=True)
class NodeStatus:
    """The subscription lost the node (``connected`` False, retrying in ``retry_in`` s) or found it again."""

    connected: bool
    message: str
    retry_in: float = 0.0


def backoff_delays(first: float = 1.0, limit: float = 30.0) -> Callable[[int], float]:
    """Attempt n (0-based) -> seconds to wait: first * 2**n capped at ``limit``."""
    return lambda attempt: min(limit, first * (2 ** min(attempt, 16)))


def _number(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


class HeadSubscription:
    """``chain_subscribeNewHeads`` on one WebSocket: :meth:`run` calls ``on_head(number)`` per head
    until :meth:`close` (NodeUnreachableError when the connection fails or drops)."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        import websocket

        self.url = url
        try:
            self._ws = websocket.create_connection(url, timeout=timeout, enable_multithread=True)
        except (OSError, websocket.WebSocketException) as exc:
            raise NodeUnreachableError(f"No DecentralML node answers at {url}.") from exc
        self._ws.settimeout(None)

    def close(self) -> None:
        try:
            self._ws.close()
        except Exception:  # noqa: BLE001 - closing must not fail
            pass

    def run(self, on_head: Callable[[int], bool]) -> None:
        import websocket

        try:
            self._ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "chain_subscribeNewHeads", "params": []}))
            subscription = None
            while True:
                raw = self._ws.recv()
                if not raw:
                    raise NodeUnreachableError(f"The node at {self.url} closed the connection.")
                if len(raw) > MAX_MESSAGE_BYTES:
                    continue
                message = json.loads(raw)
                if message.get("id") == 1:
                    if "error" in message:
                        raise ChainError(f"The node refused chain_subscribeNewHeads: {message['error']}.")
                    subscription = message.get("result")
                    continue
                params = message.get("params") or {}
                if subscription is not None and params.get("subscription") == subscription:
                    if on_head(_number((params.get("result") or {})["number"])):
                        return
        except (OSError, websocket.WebSocketException) as exc:
            raise NodeUnreachableError(f"Lost the node at {self.url}: {exc or type(exc).__name__}.") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise ChainError(f"The node at {self.url} sent a malformed new-head notification: {exc}.") from exc


class HeadFollower:
    """Puts :class:`NewHead` and :class:`NodeStatus` items on ``sink`` until :meth:`stop`."""

    def __init__(self, url: str, sink: "queue.Queue[object]", *,
                 first_backoff: float = 1.0, max_backoff: float = 30.0) -> None:
        self._url = url
        self._sink = sink
        self._delay = backoff_delays(first_backoff, max_backoff)
        self._stopping = threading.Event()
        self._client: HeadSubscription | None = None
        self._thread = threading.Thread(target=self._run, name="decentralml-head-follower", daemon=True)

    def start(self) -> "HeadFollower":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        client = self._client
        if client is not None:
            client.close()  # unblocks the subscription's read
        self._thread.join(timeout=5)

    def _run(self) -> None:
        attempt = 0
        lost = False
        while not self._stopping.is_set():
            try:
                self._client = HeadSubscription(self._url)
                if lost:
                    self._sink.put(NodeStatus(True, f"reconnected to {self._url}"))
                    lost = False
                attempt = 0

                def on_head(number: int) -> bool:
                    self._sink.put(NewHead(number, time.monotonic()))
                    return self._stopping.is_set()

                self._client.run(on_head)
            except (DecentralMLError, OSError, ValueError) as exc:
                if self._stopping.is_set():
                    return
                delay = self._delay(attempt)
                attempt += 1
                lost = True
                message = exc.message if isinstance(exc, DecentralMLError) else str(exc)
                self._sink.put(NodeStatus(False, message, delay))
            except Exception as exc:  # noqa: BLE001 - a decoding fault of one head must not end the follower
                if self._stopping.is_set():
                    return
                delay = self._delay(attempt)
                attempt += 1
                lost = True
                self._sink.put(NodeStatus(False, f"subscription failed: {type(exc).__name__}: {exc}", delay))
            finally:
                if self._client is not None:
                    self._client.close()
                    self._client = None
            if self._stopping.wait(self._delay(max(0, attempt - 1)) if lost else 0):
                return
