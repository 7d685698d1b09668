"""The JSON-RPC 2.0 method table of the dev node, transport-free.

:class:`RpcMethods` maps every method name and alias a Substrate node lists to
a handler over :class:`~decentralml.devnode.node.DevNode`. :func:`handle_message`
takes one raw message (a request or a batch) and returns the reply text, so
the WebSocket and HTTP server only move text. Errors use the codes a real node
uses: -32700 parse error, -32600 invalid request, -32601 unknown method,
-32602 bad params, 1001-1016 pool errors, 4001-4003 state errors.

Non-standard: ``dev_newBlocks [count]`` seals ``count`` empty blocks (1..=10000)
and returns ``{"count", "first", "last", "hash"}`` once they are durable.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from decentralml.devnode.codec import CodecError, blake2_256, decode_compact, from_hex, to_hex
from decentralml.devnode.history import StateDiscarded
from decentralml.devnode.limits import RpcLimits, batch_too_large, response_too_big, too_many_subscriptions
from decentralml.devnode.node import Block, DevNode
from decentralml.devnode.pool import PoolError
from decentralml.devnode.runtime.trie import read_proof
from decentralml.devnode.watch_hold import BLOCK_READS, FinalizedHold, Ping
from decentralml.primitives.scale import U32_MAX

MAX_KEYS_PAGED = 1000
MAX_NEW_BLOCKS = 10_000
# A batch gives the event loop back to other connections at least this often (seconds).
BATCH_SLICE_SECONDS = 0.002
UNSAFE_PREFIXES = ("dev_",)
NODE_NAME = "DecentralML Dev Node"
NODE_VERSION = "0.1.0"


class RpcError(Exception):
    """A JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(detail: str) -> RpcError:
    return RpcError(-32602, "Invalid params", detail)


def unknown_block(block_hash: bytes | str) -> RpcError:
    text = block_hash if isinstance(block_hash, str) else to_hex(block_hash)
    return RpcError(4003, f"Client error: UnknownBlock: Header was not found in the database: {text}")


def state_discarded(node: DevNode, number: int) -> RpcError:
    """A read at a block whose state was pruned, as sc-client-db reports it (sp_blockchain::Error::UnknownBlock)."""
    block = node.block(number)
    text = to_hex(block.hash) if block is not None else f"#{number}"
    return RpcError(4003, f"Client error: UnknownBlock: State already discarded for {text}")


def runtime_api_error(exc: Exception) -> RpcError:
    """A failed runtime API call as a real node reports it (4003, "Client error: ...")."""
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message.startswith("Client error"):
        return RpcError(4003, message)
    return RpcError(4003, f"Client error: Execution failed: {message or exc}")


def new_subscription_id() -> str:
    """A random subscription id: 16 alphanumerics, like jsonrpsee's."""
    return secrets.token_hex(8)


@dataclass
class Session:
    """One client connection: where notifications go and what it subscribed to."""

    send: Callable[[str], None]
    subscriptions_allowed: bool = True
    max_subscriptions: int = RpcLimits.max_subscriptions_per_connection
    subscriptions: dict[str, Callable[[], None]] = field(default_factory=dict)
    broadcasts: dict[str, bytes] = field(default_factory=dict)  # transaction_v1_broadcast operation -> tx hash
    after_reply: list[Callable[[], None]] = field(default_factory=list)
    ping: Ping | None = None  # WebSocket: a ping after what is queued, the callback on its pong
    holds: FinalizedHold = field(init=False)

    def __post_init__(self) -> None:
        self.holds = FinalizedHold(self.ping)

    def notify(self, method: str, subscription: str, result: Any) -> None:
        self.send(
            json.dumps(
                {"jsonrpc": "2.0", "method": method, "params": {"subscription": subscription, "result": result}},
                separators=(",", ":"),
            )
        )

    def check_subscription_room(self) -> None:
        """Raise -32006 when this connection already holds its maximum of subscriptions."""
        if not self.subscriptions_allowed:
            raise RpcError(-32603, "Subscriptions are not available on this transport.")
        if len(self.subscriptions) >= self.max_subscriptions:
            error = too_many_subscriptions(self.max_subscriptions)
            raise RpcError(int(error["code"]), str(error["message"]), error["data"])  # type: ignore[call-overload]

    def close(self) -> None:
        """Drop every subscription (the connection is gone)."""
        for cancel in list(self.subscriptions.values()):
            cancel()
        self.subscriptions.clear()
        self.holds.close()


Handler = Callable[[list[Any], Session], Any]


def _args(params: list[Any], count: int, required: int = 0) -> list[Any]:
    if len(params) < required:
        raise invalid_params(f"expected at least {required} parameters, got {len(params)}")
    if len(params) > count:
        if any(p is not None for p in params[count:]):
            raise invalid_params(f"expected at most {count} parameters, got {len(params)}")
        params = params[:count]
    return list(params) + [None] * (count - len(params))


def _hex_param(value: Any, what: str) -> bytes:
    try:
        return from_hex(value)
    except CodecError as exc:
        raise invalid_params(f"{what}: {exc}") from None


def _number_param(value: Any) -> int:
    if isinstance(value, bool):
        raise invalid_params("block number: expected a number or hex string")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value, 16) if value[:2] in ("0x", "0X") else int(value)
        except ValueError:
            raise invalid_params(f"block number: invalid number {value!r}") from None
    else:
        raise invalid_params("block number: expected a number or hex string")
    if number < 0 or number > U32_MAX:
        raise invalid_params("block number: out of range for u32")
    return number


class RpcMethods:
    """Every RPC method the dev node serves, by name."""

    def __init__(self, node: DevNode, limits: RpcLimits | None = None) -> None:
        self.node = node
        self.limits = limits or RpcLimits(unsafe_methods=True)
        self.table: dict[str, Handler] = {}
        r = self._register
        r(self.rpc_methods, "rpc_methods")
        # system
        r(lambda p, s: "Development", "system_chain")
        r(lambda p, s: NODE_NAME, "system_name")
        r(lambda p, s: NODE_VERSION, "system_version")
        r(lambda p, s: "Development", "system_chainType")
        r(lambda p, s: self.node.runtime.properties(), "system_properties")
        r(lambda p, s: {"peers": 0, "isSyncing": False, "shouldHavePeers": False}, "system_health")
        r(lambda p, s: [], "system_peers")
        r(lambda p, s: ["Authority"], "system_nodeRoles")
        r(self.system_sync_state, "system_syncState")
        r(self.account_next_index, "system_accountNextIndex", "account_nextIndex")
        # chain
        r(self.chain_get_block_hash, "chain_getBlockHash", "chain_getHead")
        r(self.chain_get_header, "chain_getHeader")
        r(self.chain_get_block, "chain_getBlock")
        r(lambda p, s: to_hex(self.node.finalized.hash), "chain_getFinalizedHead", "chain_getFinalisedHead")
        self._subscription(
            "chain_newHead", self._sub_heads, ("chain_subscribeNewHeads", "chain_subscribeNewHead", "subscribe_newHead"),
            ("chain_unsubscribeNewHeads", "chain_unsubscribeNewHead", "unsubscribe_newHead"),
        )
        self._subscription(
            "chain_finalizedHead", self._sub_finalized_heads, ("chain_subscribeFinalizedHeads", "chain_subscribeFinalisedHeads"),
            ("chain_unsubscribeFinalizedHeads", "chain_unsubscribeFinalisedHeads"),
        )
        self._subscription("chain_allHead", self._sub_heads, ("chain_subscribeAllHeads",), ("chain_unsubscribeAllHeads",))
        # state
        r(self.state_get_storage, "state_getStorage", "state_getStorageAt")
        r(self.state_get_storage_hash, "state_getStorageHash", "state_getStorageHashAt")
        r(self.state_get_storage_size, "state_getStorageSize", "state_getStorageSizeAt")
        r(self.state_get_keys, "state_getKeys")
        r(self.state_get_keys_paged, "state_getKeysPaged", "state_getKeysPagedAt")
        r(self.state_get_pairs, "state_getPairs")
        r(self.state_query_storage, "state_queryStorage")
        r(self.state_query_storage_at, "state_queryStorageAt")
        r(self.state_call, "state_call", "state_callAt")
        r(self.state_get_metadata, "state_getMetadata")
        r(self.state_get_runtime_version, "state_getRuntimeVersion", "chain_getRuntimeVersion")
        self._subscription(
            "state_runtimeVersion", self._sub_runtime_version,
            ("state_subscribeRuntimeVersion", "chain_subscribeRuntimeVersion"),
            ("state_unsubscribeRuntimeVersion", "chain_unsubscribeRuntimeVersion"),
        )
        self._subscription("state_storage", self._sub_storage, ("state_subscribeStorage",), ("state_unsubscribeStorage",))
        # author
        r(self.author_submit, "author_submitExtrinsic")
        r(self.author_pending, "author_pendingExtrinsics")
        r(self.author_remove, "author_removeExtrinsic")
        self._subscription(
            "author_extrinsicUpdate", self._sub_extrinsic, ("author_submitAndWatchExtrinsic",), ("author_unwatchExtrinsic",)
        )
        r(self.state_get_read_proof, "state_getReadProof")
        r(self.state_trie_migration_status, "state_trieMigrationStatus")
        # childstate: this runtime has no child tries, so every child-trie read finds nothing
        r(lambda p, s: self._child_read(p, []), "childstate_getKeys", "childstate_getKeysPaged", "childstate_getKeysPagedAt")
        r(lambda p, s: self._child_read(p, None), "childstate_getStorage", "childstate_getStorageHash", "childstate_getStorageSize")
        r(self.childstate_get_storage_entries, "childstate_getStorageEntries")
        r(self.state_get_child_read_proof, "state_getChildReadProof")
        # system: the dev node has no peer-to-peer network
        r(lambda p, s: [], "system_localListenAddresses", "system_reservedPeers")
        r(self.sync_state_gen_sync_spec, "sync_state_genSyncSpec")
        # payment
        r(self.payment_query_info, "payment_queryInfo")
        r(self.payment_query_fee_details, "payment_queryFeeDetails")
        # dev
        r(self.dev_new_blocks, "dev_newBlocks")
        # the new JSON-RPC interface (chainHead_v1, transaction_v1, transactionWatch_v1, chainSpec_v1)
        from decentralml.devnode.spec_v2 import SpecV2

        SpecV2(node).register(self._register)

    def _register(self, handler: Handler, *names: str) -> None:
        for name in names:
            self.table[name] = handler

    # ---- helpers ---------------------------------------------------------------------------

    def _block_at(self, at: Any) -> Block:
        """The block an optional ``at`` parameter names (hash, or tolerated: a number); best if null."""
        node = self.node
        if at is None:
            return node.best
        if isinstance(at, int) and not isinstance(at, bool):
            block = node.block(at)
            if block is None:
                raise RpcError(4003, f"Client error: UnknownBlock: no block number {at}")
            return block
        raw = _hex_param(at, "block hash")
        if len(raw) != 32:
            raise invalid_params("block hash: expected 32 bytes")
        block = node.block_by_hash(raw)
        if block is None:
            raise unknown_block(raw)
        return block

    # ---- rpc / system ----------------------------------------------------------------------

    def rpc_methods(self, params: list[Any], session: Session) -> Any:
        return {"methods": sorted(self.table)}

    def system_sync_state(self, params: list[Any], session: Session) -> Any:
        best = self.node.best_number
        return {"startingBlock": 0, "currentBlock": best, "highestBlock": best}

    def account_next_index(self, params: list[Any], session: Session) -> Any:
        (address,) = _args(params, 1, 1)
        account = _account_id(address)
        node = self.node
        state = node.history.view(node.history.head_number)
        try:
            raw = node.runtime.state_call(state, "AccountNonceApi_account_nonce", account)
        except Exception as exc:
            raise runtime_api_error(exc) from None
        nonce = int.from_bytes(raw[:4], "little")
        pooled = {
            getattr(e.validity, "nonce", None)
            for e in (*node.pool.ready.values(), *node.pool.future.values())
            if bytes(getattr(e.validity, "sender", b"") or b"") == account
        }
        while nonce in pooled:
            nonce += 1
        return nonce

    # ---- chain -----------------------------------------------------------------------------

    def chain_get_block_hash(self, params: list[Any], session: Session) -> Any:
        (number,) = _args(params, 1)
        if number is None:
            return to_hex(self.node.best.hash)
        if isinstance(number, list):
            return [self._hash_of(n) for n in number]
        return self._hash_of(number)

    def _hash_of(self, number: Any) -> str | None:
        block = self.node.block(_number_param(number))
        return None if block is None else to_hex(block.hash)

    def _maybe_block(self, at: Any) -> Block | None:
        if at is None:
            return self.node.best
        if isinstance(at, int) and not isinstance(at, bool):
            return self.node.block(at)
        raw = _hex_param(at, "block hash")
        if len(raw) != 32:
            raise invalid_params("block hash: expected 32 bytes")
        return self.node.block_by_hash(raw)

    def chain_get_header(self, params: list[Any], session: Session) -> Any:
        (at,) = _args(params, 1)
        block = self._maybe_block(at)
        return None if block is None else block.decoded.to_json()

    def chain_get_block(self, params: list[Any], session: Session) -> Any:
        (at,) = _args(params, 1)
        block = self._maybe_block(at)
        if block is None or block.extrinsics is None:  # unknown, or its body was pruned (--blocks-pruning)
            return None
        return {
            "block": {"header": block.decoded.to_json(), "extrinsics": [to_hex(x) for x in block.extrinsics]},
            "justifications": None,
        }

    def _sub_heads(self, session: Session, sub_id: str, method: str, params: list[Any]) -> Callable[[], None]:
        node = self.node
        session.after_reply.append(lambda: session.notify(method, sub_id, node.best.decoded.to_json()))
        token = node.add_block_listener(lambda block, changes: session.notify(method, sub_id, block.decoded.to_json()))
        return lambda: node.remove_block_listener(token)

    def _sub_finalized_heads(self, session: Session, sub_id: str, method: str, params: list[Any]) -> Callable[[], None]:
        node = self.node
        session.after_reply.append(lambda: session.notify(method, sub_id, node.finalized.decoded.to_json()))

        def on_finalized(blocks: list[Block]) -> None:
            for block in blocks:
                session.notify(method, sub_id, block.decoded.to_json())

        token = node.add_finality_listener(on_finalized)
        return lambda: node.remove_finality_listener(token)

    # ---- state -----------------------------------------------------------------------------

    def state_get_storage(self, params: list[Any], session: Session) -> Any:
        key, at = _args(params, 2, 1)
        block = self._block_at(at)
        value = self.node.view(block.number).get(_hex_param(key, "storage key"))
        return None if value is None else to_hex(value)

    def state_get_storage_hash(self, params: list[Any], session: Session) -> Any:
        key, at = _args(params, 2, 1)
        value = self.node.view(self._block_at(at).number).get(_hex_param(key, "storage key"))
        return None if value is None else to_hex(blake2_256(value))

    def state_get_storage_size(self, params: list[Any], session: Session) -> Any:
        key, at = _args(params, 2, 1)
        value = self.node.view(self._block_at(at).number).get(_hex_param(key, "storage key"))
        return None if value is None else len(value)

    def state_get_keys(self, params: list[Any], session: Session) -> Any:
        prefix, at = _args(params, 2, 1)
        number = self._block_at(at).number
        raw = _hex_param(prefix, "storage key prefix")
        return [to_hex(k) for k in self.node.history.keys_with_prefix(raw, number)]

    def state_get_keys_paged(self, params: list[Any], session: Session) -> Any:
        prefix, count, start, at = _args(params, 4, 2)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise invalid_params("count: expected a non-negative integer")
        if count > MAX_KEYS_PAGED:
            raise RpcError(4002, f"count exceeds maximum value. value: {count}, max: {MAX_KEYS_PAGED}")
        number = self._block_at(at).number
        raw_prefix = b"" if prefix is None else _hex_param(prefix, "storage key prefix")
        raw_start = None if start is None else _hex_param(start, "start key")
        keys: list[str] = []
        for key in self.node.history.keys_with_prefix(raw_prefix, number, raw_start):
            if len(keys) >= count:
                break
            keys.append(to_hex(key))
        return keys

    def state_get_pairs(self, params: list[Any], session: Session) -> Any:
        prefix, at = _args(params, 2, 1)
        number = self._block_at(at).number
        view = self.node.view(number)
        raw = _hex_param(prefix, "storage key prefix")
        return [[to_hex(k), to_hex(view.get(k) or b"")] for k in self.node.history.keys_with_prefix(raw, number)]

    def state_query_storage_at(self, params: list[Any], session: Session) -> Any:
        keys, at = _args(params, 2, 1)
        if not isinstance(keys, list):
            raise invalid_params("keys: expected a list of hex keys")
        block = self._block_at(at)
        view = self.node.view(block.number)
        changes = []
        for key in keys:
            value = view.get(_hex_param(key, "storage key"))
            changes.append([key, None if value is None else to_hex(value)])
        return [{"block": to_hex(block.hash), "changes": changes}]

    def state_query_storage(self, params: list[Any], session: Session) -> Any:
        keys, from_hash, to_hash = _args(params, 3, 2)
        if not isinstance(keys, list):
            raise invalid_params("keys: expected a list of hex keys")
        first = self._block_at(from_hash)
        last = self._block_at(to_hash)
        if last.number < first.number:
            raise RpcError(4001, f"Invalid block range: {to_hex(first.hash)}..{to_hex(last.hash)}")
        raw_keys = [(k, _hex_param(k, "storage key")) for k in keys]
        history = self.node.history
        by_block: dict[int, list[list[Any]]] = {}
        for text, key in raw_keys:
            value = history.get(key, first.number)
            by_block.setdefault(first.number, []).append([text, None if value is None else to_hex(value)])
            for number in history.changed_between(key, first.number + 1, last.number):
                value = history.get(key, number)
                by_block.setdefault(number, []).append([text, None if value is None else to_hex(value)])
        out = []
        for number in sorted(by_block):
            block = self.node.block(number)
            if block is not None:
                out.append({"block": to_hex(block.hash), "changes": by_block[number]})
        return out

    def state_call(self, params: list[Any], session: Session) -> Any:
        method, data, at = _args(params, 3, 2)
        if not isinstance(method, str):
            raise invalid_params("method: expected a string")
        block = self._block_at(at)
        payload = _hex_param(data, "call data")
        try:
            result = self.node.runtime.state_call(self.node.view(block.number), method, payload)
        except Exception as exc:
            raise runtime_api_error(exc) from None
        return to_hex(result)

    def state_get_metadata(self, params: list[Any], session: Session) -> Any:
        (at,) = _args(params, 1)
        self._block_at(at)
        return to_hex(self.node.runtime.metadata_v14)

    def state_get_runtime_version(self, params: list[Any], session: Session) -> Any:
        (at,) = _args(params, 1)
        self._block_at(at)
        return self.node.runtime_version()

    def _sub_runtime_version(self, session: Session, sub_id: str, method: str, params: list[Any]) -> Callable[[], None]:
        version = self.node.runtime_version()
        session.after_reply.append(lambda: session.notify(method, sub_id, version))
        return lambda: None

    def _sub_storage(self, session: Session, sub_id: str, method: str, params: list[Any]) -> Callable[[], None]:
        (keys,) = _args(params, 1)
        if keys is not None and not isinstance(keys, list):
            raise invalid_params("keys: expected a list of hex keys")
        node = self.node
        watched = None if not keys else {_hex_param(k, "storage key"): k for k in keys}
        if watched is not None:
            best = node.best
            view = node.view(best.number)
            initial = []
            for key, text in watched.items():
                value = view.get(key)
                initial.append([text, None if value is None else to_hex(value)])
            session.after_reply.append(
                lambda: session.notify(method, sub_id, {"block": to_hex(best.hash), "changes": initial})
            )

        def on_block(block: Block, changes: Mapping[bytes, bytes | None]) -> None:
            if watched is None:
                found = [[to_hex(k), None if v is None else to_hex(v)] for k, v in changes.items()]
            else:
                found = [
                    [watched[k], None if changes[k] is None else to_hex(changes[k])]  # type: ignore[arg-type]
                    for k in watched
                    if k in changes
                ]
            if found:
                session.notify(method, sub_id, {"block": to_hex(block.hash), "changes": found})

        token = node.add_block_listener(on_block)
        return lambda: node.remove_block_listener(token)

    def _state_items(self, number: int) -> list[tuple[bytes, bytes]]:
        view = self.node.view(number)
        return [(k, view.get(k) or b"") for k in self.node.history.keys_with_prefix(b"", number)]

    def state_get_read_proof(self, params: list[Any], session: Session) -> Any:
        """``{"at", "proof"}``: the trie nodes proving ``keys`` at the block (sp-trie's StorageProof)."""
        keys, at = _args(params, 2, 1)
        if not isinstance(keys, list):
            raise invalid_params("keys: expected a list of hex keys")
        block = self._block_at(at)
        raw_keys = [_hex_param(k, "storage key") for k in keys]
        state_version = int(self.node.runtime_version().get("stateVersion", 1))
        proof = read_proof(self._state_items(block.number), raw_keys, state_version)
        return {"at": to_hex(block.hash), "proof": [to_hex(node) for node in proof]}

    def state_get_child_read_proof(self, params: list[Any], session: Session) -> Any:
        child, keys, at = _args(params, 3, 2)
        _hex_param(child, "child storage key")
        block = self._block_at(at)
        return {"at": to_hex(block.hash), "proof": []}

    def state_trie_migration_status(self, params: list[Any], session: Session) -> Any:
        """Every key is already in the runtime's state version's layout: nothing remains to migrate."""
        (at,) = _args(params, 1)
        total = sum(1 for _ in self.node.history.keys_with_prefix(b"", self._block_at(at).number))
        return {"topRemainingToMigrate": 0, "childRemainingToMigrate": 0, "totalTop": total, "totalChild": 0}

    def _child_read(self, params: list[Any], empty: Any) -> Any:
        if len(params) < 2:
            raise invalid_params("expected a child storage key and a key or prefix")
        _hex_param(params[0], "child storage key")
        at = params[-1] if len(params) > 2 and isinstance(params[-1], str) and len(params[-1]) == 66 else None
        self._block_at(at)
        return list(empty) if isinstance(empty, list) else empty

    def childstate_get_storage_entries(self, params: list[Any], session: Session) -> Any:
        child, keys, at = _args(params, 3, 2)
        _hex_param(child, "child storage key")
        if not isinstance(keys, list):
            raise invalid_params("keys: expected a list of hex keys")
        self._block_at(at)
        return [None for _ in keys]

    def sync_state_gen_sync_spec(self, params: list[Any], session: Session) -> Any:
        """The chain spec of this chain (sc-chain-spec JSON) with its raw genesis storage.

        ``raw`` is accepted for either value: the runtime's genesis is known here only
        as raw storage. There is no ``lightSyncState`` (it carries BABE/GRANDPA
        state, which this chain does not have).
        """
        (raw,) = _args(params, 1, 1)
        if not isinstance(raw, bool):
            raise invalid_params("raw: expected a boolean")
        storage, _, _ = self.node.runtime.genesis()
        top = {to_hex(k): to_hex(v) for k, v in sorted(storage.items())}
        return {
            "name": "Development",
            "id": "dev",
            "chainType": "Development",
            "bootNodes": [],
            "telemetryEndpoints": None,
            "protocolId": None,
            "properties": self.node.runtime.properties(),
            "codeSubstitutes": {},
            "genesis": {"raw": {"top": top, "childrenDefault": {}}},
        }

    # ---- author ----------------------------------------------------------------------------

    def _submit(self, params: list[Any]) -> tuple[bytes, str]:
        (xt,) = _args(params, 1, 1)
        raw = _hex_param(xt, "extrinsic")
        try:
            return self.node.submit(raw)
        except PoolError as exc:
            raise RpcError(exc.code, exc.message, exc.data) from None

    def author_submit(self, params: list[Any], session: Session) -> Any:
        tx_hash, _ = self._submit(params)
        return to_hex(tx_hash)

    def _sub_extrinsic(self, session: Session, sub_id: str, method: str, params: list[Any]) -> Callable[[], None]:
        tx_hash, status = self._submit(params)
        node = self.node

        held: list[Callable[[], None]] = []

        def send(result: object) -> None:
            session.notify(method, sub_id, result)
            if isinstance(result, dict) and ("finalized" in result or "usurped" in result) or result in ("invalid", "dropped"):
                session.subscriptions.pop(sub_id, None)

        def on_status(result: object) -> None:
            if isinstance(result, dict) and isinstance(result.get("finalized"), str):
                # Sent once the client has read the block (watch_hold), so it can report inBlock first.
                held.append(session.holds.hold(result["finalized"], lambda: send(result)))
                return
            send(result)

        def cancel() -> None:
            node.unwatch(tx_hash, on_status)
            for drop in held:
                drop()

        session.after_reply.append(lambda: session.notify(method, sub_id, status))
        node.watch(tx_hash, on_status)
        return cancel

    def author_pending(self, params: list[Any], session: Session) -> Any:
        return [to_hex(x) for x in self.node.pool.pending()]

    def author_remove(self, params: list[Any], session: Session) -> Any:
        (items,) = _args(params, 1, 1)
        if not isinstance(items, list):
            raise invalid_params("expected a list of {hash} or {extrinsic}")
        removed = []
        for item in items:
            if not isinstance(item, dict) or not ({"hash", "extrinsic"} & item.keys()):
                raise invalid_params("expected a list of {hash} or {extrinsic}")
            tx_hash = (
                _hex_param(item["hash"], "hash") if "hash" in item else blake2_256(_hex_param(item["extrinsic"], "extrinsic"))
            )
            if self.node.remove_extrinsic(tx_hash):
                removed.append(to_hex(tx_hash))
        return removed

    # ---- payment ---------------------------------------------------------------------------

    def _payment_call(self, method: str, params: list[Any], what: str) -> bytes:
        """A TransactionPaymentApi call with pallet-transaction-payment-rpc's errors.

        Code 2 when the bytes are not an extrinsic, 1 when the runtime call fails;
        message "Unable to query {what}." and the cause as data.
        """
        xt, at = _args(params, 2, 1)
        raw = _hex_param(xt, "extrinsic")
        block = self._block_at(at)
        try:
            return self.node.runtime.state_call(
                self.node.view(block.number), method, raw + len(raw).to_bytes(4, "little")
            )
        except CodecError as exc:
            raise RpcError(2, f"Unable to query {what}: error while decoding extrinsic.", str(exc)) from None
        except Exception as exc:
            cause = getattr(exc, "message", None) or str(exc)
            code = 2 if "decod" in str(cause).lower() else 1
            raise RpcError(code, f"Unable to query {what}.", str(cause)) from None

    def payment_query_info(self, params: list[Any], session: Session) -> Any:
        """``RuntimeDispatchInfo`` as the node serializes it: weight fields in snake_case, the fee as a string."""
        raw = self._payment_call("TransactionPaymentApi_query_info", params, "dispatch info")
        ref_time, offset = decode_compact(raw)
        proof_size, offset = decode_compact(raw, offset)
        dispatch_class = ("normal", "operational", "mandatory")[raw[offset]]
        fee = int.from_bytes(raw[offset + 1 : offset + 17], "little")
        return {"weight": {"ref_time": ref_time, "proof_size": proof_size}, "class": dispatch_class, "partialFee": str(fee)}

    def payment_query_fee_details(self, params: list[Any], session: Session) -> Any:
        raw = self._payment_call("TransactionPaymentApi_query_fee_details", params, "fee details")
        if raw[0] == 0:
            return {"inclusionFee": None}
        parts = [int.from_bytes(raw[1 + 16 * i : 17 + 16 * i], "little") for i in range(3)]
        return {"inclusionFee": {"baseFee": hex(parts[0]), "lenFee": hex(parts[1]), "adjustedWeightFee": hex(parts[2])}}

    # ---- dev -------------------------------------------------------------------------------

    def dev_new_blocks(self, params: list[Any], session: Session) -> Any:
        (count,) = _args(params, 1)
        count = 1 if count is None else count
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_NEW_BLOCKS:
            raise invalid_params(f"count: expected an integer from 1 to {MAX_NEW_BLOCKS}")

        async def produce() -> Any:
            blocks = await self.node.new_blocks(count)
            return {"count": len(blocks), "first": blocks[0].number, "last": blocks[-1].number, "hash": to_hex(blocks[-1].hash)}

        return produce()

    # ---- subscriptions ---------------------------------------------------------------------

    def _subscription(
        self,
        notification: str,
        start: Callable[[Session, str, str, list[Any]], Callable[[], None]],
        subscribe_names: tuple[str, ...],
        unsubscribe_names: tuple[str, ...],
    ) -> None:
        def subscribe(params: list[Any], session: Session) -> Any:
            session.check_subscription_room()
            sub_id = new_subscription_id()
            session.subscriptions[sub_id] = start(session, sub_id, notification, params)
            return sub_id

        def unsubscribe(params: list[Any], session: Session) -> Any:
            (sub_id,) = _args(params, 1)
            cancel = session.subscriptions.pop(sub_id, None) if isinstance(sub_id, str) else None
            if cancel is None:
                return False
            cancel()
            return True

        self._register(subscribe, *subscribe_names)
        self._register(unsubscribe, *unsubscribe_names)


def _account_id(address: Any) -> bytes:
    if not isinstance(address, str):
        raise invalid_params("account: expected an SS58 address or 0x-prefixed AccountId")
    if address.startswith("0x"):
        raw = _hex_param(address, "account")
        if len(raw) != 32:
            raise invalid_params("account: expected 32 bytes")
        return raw
    from decentralml.errors import UsageError
    from decentralml.primitives.ss58 import public_key_of

    try:
        return public_key_of(address)
    except UsageError as exc:
        raise invalid_params(f"account: {exc.message}") from None


# ---- dispatch ---------------------------------------------------------------------------------


def _error_reply(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": error.to_json(), "id": request_id}


async def _call_one(methods: RpcMethods, request: Any, session: Session) -> dict[str, Any] | None:
    if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or not isinstance(request.get("method"), str):
        request_id = request.get("id") if isinstance(request, dict) else None
        return _error_reply(request_id if _valid_id(request_id) else None, RpcError(-32600, "Invalid request"))
    request_id = request.get("id")
    is_notification = "id" not in request
    if not _valid_id(request_id):
        return _error_reply(None, RpcError(-32600, "Invalid request"))
    handler = methods.table.get(request["method"])
    if handler is None:
        return None if is_notification else _error_reply(request_id, RpcError(-32601, "Method not found"))
    if not methods.limits.unsafe_methods and request["method"].startswith(UNSAFE_PREFIXES):
        return _error_reply(request_id, RpcError(-32601, "RPC call is unsafe to be called externally"))
    params = request.get("params")
    if params is None:
        params = []
    elif isinstance(params, dict):
        params = list(params.values())
    elif not isinstance(params, list):
        return _error_reply(request_id, invalid_params("params must be an array, an object or null"))
    try:
        result = handler(params, session)
        if isinstance(result, Awaitable):
            result = await result
    except RpcError as exc:
        session.after_reply.clear()
        return None if is_notification else _error_reply(request_id, exc)
    except StateDiscarded as exc:
        session.after_reply.clear()
        return None if is_notification else _error_reply(request_id, state_discarded(methods.node, exc.number))
    except Exception as exc:  # a bug must cost one request, not the connection
        session.after_reply.clear()
        return _error_reply(request_id, RpcError(-32603, "Internal error", str(exc)))
    _record_block_read(session, request["method"], params)
    if is_notification:
        return None
    return {"jsonrpc": "2.0", "result": result, "id": request_id}


def _record_block_read(session: Session, method: str, params: list[Any]) -> None:
    """Tell the connection's held watchers (watch_hold) of a block read, once its answer is queued."""
    method = "state_getStorage" if method == "state_getStorageAt" else method
    if method not in BLOCK_READS:
        return
    at = params[0] if method == "chain_getBlock" else (params[1] if len(params) > 1 else None)
    if isinstance(at, str):
        session.after_reply.append(lambda: session.holds.read(method, at))


def _valid_id(value: Any) -> bool:
    return value is None or isinstance(value, (str, int)) and not isinstance(value, bool)


_GC_HOLDS = [0]  # large messages in progress; cycle collection resumes when none is left
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
# Messages longer than this are parsed element by element, giving the loop back between slices.
INCREMENTAL_PARSE_BYTES = 64 * 1024


async def _loads(text: str | bytes) -> Any:
    """``json.loads``, but a large batch is parsed one request at a time, yielding every slice.

    Raises ``ValueError`` (or ``UnicodeDecodeError``) exactly where ``json.loads`` would:
    a batch with a syntax error anywhere is a parse error as a whole, before any call runs.
    Nesting deeper than the interpreter's recursion limit raises ``RecursionError``.
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode()
    start = _WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
    if len(text) < INCREMENTAL_PARSE_BYTES or not text.startswith("[", start):
        return json.loads(text)
    items: list[Any] = []
    index = _WHITESPACE.match(text, start + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", index):
        index += 1
    else:
        slice_end = time.perf_counter() + BATCH_SLICE_SECONDS
        while True:
            item, index = _DECODER.raw_decode(text, index)
            items.append(item)
            index = _WHITESPACE.match(text, index).end()  # type: ignore[union-attr]
            if text.startswith("]", index):
                index += 1
                break
            if not text.startswith(",", index):
                raise ValueError("expected , or ] in a batch")
            index = _WHITESPACE.match(text, index + 1).end()  # type: ignore[union-attr]
            if time.perf_counter() >= slice_end:
                await asyncio.sleep(0)
                slice_end = time.perf_counter() + BATCH_SLICE_SECONDS
    if _WHITESPACE.match(text, index).end() != len(text):  # type: ignore[union-attr]
        raise ValueError("extra data after the batch")
    return items


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


async def handle_message(methods: RpcMethods, text: str | bytes, session: Session) -> str | None:
    if len(text) < INCREMENTAL_PARSE_BYTES:
        return await _handle_message(methods, text, session)
    # A large batch makes hundreds of thousands of short-lived, acyclic objects: collecting
    # cycles among them would stall every connection for a full collection at a time
    # (measured: victim p99 290 ms -> 60 ms under a 15 MiB batch). Counted, as batches overlap.
    _GC_HOLDS[0] += 1
    gc.disable()
    try:
        return await _handle_message(methods, text, session)
    finally:
        _GC_HOLDS[0] -= 1
        if _GC_HOLDS[0] == 0:
            gc.enable()


async def _handle_message(methods: RpcMethods, text: str | bytes, session: Session) -> str | None:
    """Answer one raw JSON-RPC message (single or batch); ``None`` when nothing is owed.

    A batch longer than ``--rpc-max-batch-request-len`` gets -32010; a reply over
    ``--rpc-max-response-size`` gets -32008 instead (for a batch: one error object,
    the batch stops there). A batch yields to other connections every
    :data:`BATCH_SLICE_SECONDS`.
    """
    limits = methods.limits
    try:
        message = await _loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting too deep to parse
        return _dump(_error_reply(None, RpcError(-32700, "Parse error")))
    if isinstance(message, list):
        if not message:
            return _dump(_error_reply(None, RpcError(-32600, "Invalid request")))
        if limits.max_batch_len is not None and len(message) > limits.max_batch_len:
            return _dump({"jsonrpc": "2.0", "error": batch_too_large(limits.max_batch_len), "id": None})
        parts: list[str] = []
        size = 2
        pending: list[Callable[[], None]] = []
        slice_end = time.perf_counter() + BATCH_SLICE_SECONDS
        for request in message:
            reply = await _call_one(methods, request, session)
            pending.extend(session.after_reply)
            session.after_reply.clear()
            if reply is not None:
                part = _dump(reply)
                size += len(part) + 1
                if size > limits.max_response_bytes:
                    return _dump({"jsonrpc": "2.0", "error": response_too_big(limits.max_response_bytes), "id": None})
                parts.append(part)
            if time.perf_counter() >= slice_end:
                await asyncio.sleep(0)
                slice_end = time.perf_counter() + BATCH_SLICE_SECONDS
        session.after_reply.extend(pending)
        return "[" + ",".join(parts) + "]" if parts else None
    reply = await _call_one(methods, message, session)
    if reply is None:
        return None
    text_reply = _dump(reply)
    if len(text_reply) > limits.max_response_bytes:
        session.after_reply.clear()
        return _dump({"jsonrpc": "2.0", "error": response_too_big(limits.max_response_bytes), "id": reply.get("id")})
    return text_reply


def run_after_reply(session: Session) -> None:
    """Send what a subscription owes right after its id (initial head, "ready", ...)."""
    actions = list(session.after_reply)
    session.after_reply.clear()
    for action in actions:
        action()


__all__ = ["RpcError", "RpcMethods", "Session", "handle_message", "run_after_reply"]
