"""The node connection: plain JSON-RPC over one WebSocket for reads, substrate-interface only when it is used.

Importing substrate-interface costs more than a whole read command (its keypair
module loads eth_keys, eth_utils and pydantic; its type registry loads requests),
and reads need none of it: storage keys and values come from
:mod:`decentralml.chain.runtime_types`. :class:`LazySubstrate` answers
``rpc_request``, ``properties``, ``connect_websocket`` and ``close`` over a
websocket-client connection, and builds a ``SubstrateInterface`` on the first
use of anything else (composing and signing a call, reading events, a
receipt). From then on every request goes through substrate-interface's own
connection, so a subscription and its unsubscribe share one socket.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any


class RpcRefused(Exception):
    """The node answered a request with a JSON-RPC error; ``args[0]`` is its error object."""


class LazySubstrate:
    """A SubstrateInterface stand-in: light JSON-RPC reads, the real one built on first other use.

    ``make_real()`` builds the SubstrateInterface (its own connection to the same URL).
    """

    def __init__(self, url: str, timeout: float, make_real: Callable[[], Any]) -> None:
        from websocket import create_connection

        self._url = url
        self._timeout = timeout
        self._make_real = make_real
        self._real: Any = None
        self._ids = itertools.count(1)
        self._properties: dict[str, Any] | None = None
        # websocket-client checks every text frame's UTF-8 in pure Python; json.loads of str rejects bad text anyway.
        self._socket = create_connection(url, timeout=timeout, skip_utf8_validation=True)

    @property
    def real(self) -> Any:
        if self._real is None:
            self._real = self._make_real()
        return self._real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def rpc_request(self, method: str, params: list[Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The node's JSON-RPC response object; :class:`RpcRefused` for an error answer (as substrate-interface
        raises SubstrateRequestException). Subscriptions (a result handler) go to substrate-interface."""
        if self._real is not None or args or kwargs:
            return self.real.rpc_request(method, params, *args, **kwargs)
        request_id = next(self._ids)
        self._socket.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if isinstance(message, dict) and message.get("id") == request_id:
                if "error" in message:
                    raise RpcRefused(message["error"])
                return message

    @property
    def properties(self) -> dict[str, Any]:
        if self._real is not None:
            return self._real.properties
        if self._properties is None:
            self._properties = self.rpc_request("system_properties", []).get("result") or {}
        return self._properties

    def connect_websocket(self) -> None:
        from websocket import create_connection

        if self._real is not None:
            self._real.connect_websocket()
            return
        self._close_socket()
        self._socket = create_connection(self._url, timeout=self._timeout, skip_utf8_validation=True)

    def _close_socket(self) -> None:
        try:
            self._socket.close()
        except Exception:  # noqa: BLE001 - closing must not fail
            pass

    def close(self) -> None:
        self._close_socket()
        if self._real is not None:
            self._real.close()
