"""The JSON-RPC server's limits, with Substrate's flags, defaults and error objects.

Defaults are those of a polkadot-sdk node (sc-cli ``RpcParams``, jsonrpsee error
codes): requests and responses up to 15 MiB, 100 connections, 1024 subscriptions
per connection, batches of any length. The error objects are jsonrpsee's:

* -32007 "Request is too big" (the connection stays open),
* -32008 "Response is too big",
* -32006 "Too many subscriptions on the connection",
* -32010 "The batch request was too large",
* -32601 "RPC call is unsafe to be called externally" (``--rpc-methods safe``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import Enum

MIB = 1024 * 1024


class RpcMethodsPolicy(str, Enum):
    """``--rpc-methods``: which methods answer (Substrate's auto/safe/unsafe)."""

    AUTO = "auto"
    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class RpcLimits:
    """Bounds of one JSON-RPC server; sizes in bytes."""

    max_request_bytes: int = 15 * MIB
    max_response_bytes: int = 15 * MIB
    max_connections: int = 100
    max_subscriptions_per_connection: int = 1024
    max_batch_len: int | None = None
    # Bytes of replies and notifications waiting for one client; past this it is disconnected.
    max_outbound_bytes: int = 32 * MIB
    # Seconds a new HTTP connection has to send its first request's headers.
    header_read_timeout: float = 10.0
    # None: every origin; else the allowed ``Origin`` values ("http://localhost:*" matches any port).
    cors: tuple[str, ...] | None = (
        "http://localhost:*",
        "http://127.0.0.1:*",
        "https://localhost:*",
        "https://127.0.0.1:*",
        "https://polkadot.js.org",
    )
    unsafe_methods: bool = False

    def origin_allowed(self, origin: str | None) -> bool:
        """Whether a request with this ``Origin`` header may use the node (no header: not a browser, allowed)."""
        if origin is None or self.cors is None:
            return True
        for allowed in self.cors:
            if allowed.endswith(":*"):
                base = allowed[:-2]
                if origin == base or (origin.startswith(base + ":") and origin[len(base) + 1 :].isdigit()):
                    return True
            elif origin == allowed:
                return True
        return False


def parse_cors(value: str | None) -> tuple[str, ...] | None:
    """``--rpc-cors``: None for the default list, ``all`` for every origin, else a comma-separated list."""
    if value is None:
        return RpcLimits.cors
    if value.strip().lower() == "all":
        return None
    return tuple(part.strip() for part in value.split(",") if part.strip())


def too_big(limit: int) -> dict[str, object]:
    return {"code": -32007, "message": "Request is too big", "data": f"Exceeded max limit of {limit}"}


def response_too_big(limit: int) -> dict[str, object]:
    return {"code": -32008, "message": "Response is too big", "data": f"Exceeded max limit of {limit}"}


def batch_too_large(limit: int) -> dict[str, object]:
    return {"code": -32010, "message": "The batch request was too large", "data": f"Exceeded max limit of {limit}"}


def too_many_subscriptions(limit: int) -> dict[str, object]:
    return {"code": -32006, "message": "Too many subscriptions on the connection", "data": f"Exceeded max limit of {limit}"}


class RateLimitedLog:
    """Log a recurring condition at most once per ``interval`` seconds, with the count of those skipped."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self._logger = logger
        self._interval = interval
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, key: str, message: str, *args: object) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._skipped[key] = self._skipped.get(key, 0) + 1
            return
        skipped = self._skipped.pop(key, 0)
        self._last[key] = now
        suffix = f" ({skipped} more since the last report)" if skipped else ""
        self._logger.warning(message + suffix, *args)


class RateLimitFilter(logging.Filter):
    """A logging filter passing each (logger, message template) at most once per ``interval`` seconds.

    Installed on the loggers that report per-connection trouble (asyncio's accept
    errors, aiohttp's request errors), so a flood of bad clients costs a line per
    interval, not a traceback per event.
    """

    def __init__(self, interval: float = 10.0) -> None:
        super().__init__()
        self._interval = interval
        self._last: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            return False
        if len(self._last) > 1000:
            self._last.clear()
        self._last[key] = now
        return True


__all__ = [
    "RateLimitFilter",
    "MIB",
    "RateLimitedLog",
    "RpcLimits",
    "RpcMethodsPolicy",
    "batch_too_large",
    "parse_cors",
    "response_too_big",
    "too_big",
    "too_many_subscriptions",
]
