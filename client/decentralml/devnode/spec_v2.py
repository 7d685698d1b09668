"""The new JSON-RPC interface (spec v1): ``chainHead_v1_*``, ``transaction_v1_*``,
``transactionWatch_v1_*`` and ``chainSpec_v1_*``.

Shapes, limits and error codes follow the JSON-RPC interface specification
(paritytech/json-rpc-interface-spec) as polkadot-sdk's ``sc-rpc-spec-v2``
implements it:

* ``chainHead_v1_follow [withRuntime]`` answers a subscription id, then sends
  ``chainHead_v1_followEvent`` notifications: ``initialized`` (the finalized
  block), ``newBlock`` and ``bestBlockChanged`` for every block after it, then
  ``finalized`` (with ``prunedBlockHashes``, always empty on this fork-free
  chain) as finality moves; ``stop`` when the subscription ends on the node's
  side. Every announced block stays *pinned* until ``chainHead_v1_unpin``: its
  header, body, storage and runtime calls stay readable even after
  ``--state-pruning``/``--blocks-pruning`` would have dropped them (the node's
  pruning stops at the oldest pinned block, as sc-state-db's does). Pins are
  bounded as sc-rpc-spec-v2 bounds them: when :data:`MAX_PINNED_BLOCKS` distinct
  blocks are pinned across every subscription and a new one must be, the
  subscriptions holding a block pinned for more than :data:`MAX_PIN_SECONDS` are
  stopped (``stop`` event, their pins released); if that frees nothing, every
  follow subscription is stopped.
* ``header`` answers at once; ``body``, ``call`` and ``storage`` answer
  ``{"result": "started", "operationId"}`` (or ``{"result": "limitReached"}``
  with :data:`MAX_OPERATIONS` operations in progress) and deliver the result as
  ``operation*`` follow events. A storage operation reports at most
  :data:`STORAGE_ITEMS_PER_STEP` items per ``operationStorageItems`` and then waits
  (``operationWaitingForContinue``) for ``chainHead_v1_continue``.
* Errors: -32801 block not pinned, -32802 runtime call without
  ``withRuntime``, -32803 continue without a waiting operation, -32804 the same
  hash twice in one unpin, -32800 too many follow subscriptions, -32602 bad
  parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from decentralml.devnode.codec import blake2_256, from_hex, to_hex
from decentralml.devnode.node import Block, DevNode
from decentralml.devnode.pool import PoolError
from decentralml.devnode.rpc import RpcError, Session, new_subscription_id
from decentralml.devnode.runtime.trie import closest_descendant_merkle_value

# sc-rpc-spec-v2 ChainHeadConfig defaults.
MAX_FOLLOW_PER_CONNECTION = 4
# Distinct blocks pinned across every follow subscription of the node.
MAX_PINNED_BLOCKS = 512
# Past MAX_PINNED_BLOCKS, subscriptions holding a block pinned longer than this are stopped first.
MAX_PIN_SECONDS = 60.0
MAX_OPERATIONS = 16
STORAGE_ITEMS_PER_STEP = 5
# transaction_v1_broadcast: operations kept per connection.
MAX_BROADCASTS_PER_CONNECTION = 16

FOLLOW_EVENT = "chainHead_v1_followEvent"
WATCH_EVENT = "transactionWatch_v1_watchEvent"
STORAGE_TYPES = ("value", "hash", "closestDescendantMerkleValue", "descendantsValues", "descendantsHashes")


def _invalid_block() -> RpcError:
    return RpcError(-32801, "Invalid block hash")


def _invalid_param(detail: str) -> RpcError:
    return RpcError(-32602, f"Invalid parameter: {detail}")


def _hash_param(value: Any) -> bytes:
    try:
        raw = from_hex(value)
    except Exception:
        raise _invalid_param("expected a 0x-prefixed block hash") from None
    if len(raw) != 32:
        raise _invalid_param("expected a 32-byte block hash")
    return raw


def _args(params: list[Any], names: tuple[str, ...], required: int) -> list[Any]:
    if isinstance(params, dict):
        params = [params.get(n) for n in names]
    if len(params) < required or len(params) > len(names):
        raise RpcError(-32602, "Invalid params", f"expected {required} to {len(names)} parameters: {', '.join(names)}")
    return list(params) + [None] * (len(names) - len(params))


def runtime_spec(version: dict[str, Any]) -> dict[str, Any]:
    """The ``spec`` of a chainHead runtime event: the runtime version with ``apis`` as an object {id: version}."""
    apis = version.get("apis", [])
    return {
        "specName": version["specName"],
        "implName": version["implName"],
        "authoringVersion": version.get("authoringVersion", 0),
        "specVersion": version["specVersion"],
        "implVersion": version["implVersion"],
        "apis": {api_id: api_version for api_id, api_version in apis},
        "transactionVersion": version["transactionVersion"],
        "stateVersion": version.get("stateVersion", 1),
    }


@dataclass
class _StorageOperation:
    """Storage results not yet delivered, sent :data:`STORAGE_ITEMS_PER_STEP` at a time."""

    results: list[dict[str, str]]
    waiting: bool = False


@dataclass
class Follow:
    """One chainHead_v1_follow subscription."""

    sub_id: str
    session: Session
    with_runtime: bool
    # Pinned blocks: hash -> (block number, monotonic time it was pinned).
    pinned: dict[bytes, tuple[int, float]] = field(default_factory=dict)
    operations: dict[str, _StorageOperation | None] = field(default_factory=dict)
    next_operation: int = 0
    started: bool = False
    stopped: bool = False
    cancel: Callable[[], None] = lambda: None

    def event(self, result: dict[str, Any]) -> None:
        self.session.notify(FOLLOW_EVENT, self.sub_id, result)

    def operation_id(self) -> str:
        self.next_operation += 1
        return str(self.next_operation)


class SpecV2:
    """The spec-v1 method groups over one :class:`DevNode`; registered into :class:`RpcMethods`."""

    def __init__(self, node: DevNode) -> None:
        self.node = node
        self._follows: dict[str, Follow] = {}

    def register(self, register: Callable[..., None]) -> None:
        r = register
        r(self.follow, "chainHead_v1_follow")
        r(self.unfollow, "chainHead_v1_unfollow")
        r(self.header, "chainHead_v1_header")
        r(self.body, "chainHead_v1_body")
        r(self.call, "chainHead_v1_call")
        r(self.storage, "chainHead_v1_storage")
        r(self.continue_, "chainHead_v1_continue")
        r(self.stop_operation, "chainHead_v1_stopOperation")
        r(self.unpin, "chainHead_v1_unpin")
        r(self.submit_and_watch, "transactionWatch_v1_submitAndWatch")
        r(self.unwatch, "transactionWatch_v1_unwatch")
        r(self.broadcast, "transaction_v1_broadcast")
        r(self.broadcast_stop, "transaction_v1_stop")
        r(lambda p, s: "Development", "chainSpec_v1_chainName")
        r(lambda p, s: to_hex(self.node.genesis_hash), "chainSpec_v1_genesisHash")
        r(lambda p, s: self.node.runtime.properties(), "chainSpec_v1_properties")

    # ---- follow ------------------------------------------------------------------------------

    def _runtime_event(self) -> dict[str, Any]:
        return {"type": "valid", "spec": runtime_spec(self.node.runtime_version())}

    def follow(self, params: list[Any], session: Session) -> Any:
        (with_runtime,) = _args(params, ("withRuntime",), 1)
        if not isinstance(with_runtime, bool):
            raise _invalid_param("withRuntime must be a boolean")
        session.check_subscription_room()
        mine = [f for f in self._follows.values() if f.session is session]
        if len(mine) >= MAX_FOLLOW_PER_CONNECTION:
            raise RpcError(-32800, "Maximum number of chainHead_follow has been reached")
        sub_id = new_subscription_id()
        follow = Follow(sub_id, session, with_runtime)
        node = self.node

        def start() -> None:
            # Runs right after the reply, in the same loop turn: the blocks announced are the chain as it is now.
            if follow.stopped:
                return
            finalized = node.finalized
            announced = [b for b in map(node.block, range(finalized.number, node.best_number + 1)) if b is not None]
            for block in announced:
                if not self._pin(follow, block):
                    return  # stopped: too many blocks pinned on the node
            follow.started = True
            initialized: dict[str, Any] = {"event": "initialized", "finalizedBlockHashes": [to_hex(finalized.hash)]}
            if with_runtime:
                initialized["finalizedBlockRuntime"] = self._runtime_event()
            follow.event(initialized)
            for block in announced[1:]:
                self._new_block(follow, block, best=False)
            follow.event({"event": "bestBlockChanged", "bestBlockHash": to_hex(announced[-1].hash)})

        def on_block(block: Block, changes: object) -> None:
            if not follow.started or follow.stopped or block.hash in follow.pinned:
                return
            if self._pin(follow, block):
                self._new_block(follow, block, best=True)

        def on_finalized(blocks: list[Block]) -> None:
            hashes = [to_hex(b.hash) for b in blocks if b.hash in follow.pinned]
            if follow.started and hashes:
                follow.event({"event": "finalized", "finalizedBlockHashes": hashes, "prunedBlockHashes": []})

        block_token = node.add_block_listener(on_block)
        final_token = node.add_finality_listener(on_finalized)

        def cancel() -> None:
            follow.stopped = True
            self._release(follow)
            node.remove_block_listener(block_token)
            node.remove_finality_listener(final_token)
            self._follows.pop(sub_id, None)

        follow.cancel = cancel
        self._follows[sub_id] = follow
        session.subscriptions[sub_id] = cancel
        session.after_reply.append(start)
        return sub_id

    def _new_block(self, follow: Follow, block: Block, *, best: bool) -> None:
        event: dict[str, Any] = {
            "event": "newBlock",
            "blockHash": to_hex(block.hash),
            "parentBlockHash": to_hex(block.decoded.parent_hash),
        }
        if follow.with_runtime:
            event["newRuntime"] = None  # the runtime never changes on this chain
        follow.event(event)
        if best:
            follow.event({"event": "bestBlockChanged", "bestBlockHash": to_hex(block.hash)})

    def _stop(self, follow: Follow) -> None:
        if follow.stopped:
            return
        follow.cancel()
        follow.session.subscriptions.pop(follow.sub_id, None)
        follow.event({"event": "stop"})

    # ---- pinning -----------------------------------------------------------------------------

    def _pin(self, follow: Follow, block: Block) -> bool:
        """Pin ``block`` for ``follow``; False if ``follow`` was stopped to make room (sc-rpc-spec-v2's pin_block)."""
        if block.hash in follow.pinned:
            return True
        if not self.node.is_pinned(block.number) and self._ensure_block_space(follow):
            return False
        follow.pinned[block.hash] = (block.number, monotonic())
        self.node.pin(block.number)
        return True

    def _ensure_block_space(self, requester: Follow) -> bool:
        """Make room for one more pinned block; True if ``requester`` itself had to be stopped."""
        if self.node.pinned_blocks < MAX_PINNED_BLOCKS:
            return False
        now = monotonic()
        too_old = [
            f for f in list(self._follows.values())
            if f.pinned and now - min(t for _, t in f.pinned.values()) > MAX_PIN_SECONDS
        ]
        for follow in too_old:
            self._stop(follow)
        if self.node.pinned_blocks >= MAX_PINNED_BLOCKS:
            # Nothing held too long: the guarantees cannot be kept for anyone (as the node does, stop them all).
            for follow in list(self._follows.values()):
                self._stop(follow)
        return requester.stopped

    def _release(self, follow: Follow) -> None:
        for number, _ in follow.pinned.values():
            self.node.unpin(number)
        follow.pinned.clear()

    def unfollow(self, params: list[Any], session: Session) -> Any:
        (sub_id,) = _args(params, ("followSubscription",), 1)
        follow = self._follows.get(sub_id) if isinstance(sub_id, str) else None
        if follow is not None and follow.session is session:
            session.subscriptions.pop(sub_id, None)
            follow.cancel()
        return None

    def _follow_of(self, sub_id: Any, session: Session) -> Follow | None:
        follow = self._follows.get(sub_id) if isinstance(sub_id, str) else None
        return follow if follow is not None and follow.session is session else None

    def _pinned_block(self, follow: Follow, hash_param: Any) -> Block:
        raw = _hash_param(hash_param)
        if raw not in follow.pinned:
            raise _invalid_block()
        block = self.node.block_by_hash(raw)
        if block is None:
            raise _invalid_block()
        return block

    # ---- header, body, call, storage -------------------------------------------------------

    def header(self, params: list[Any], session: Session) -> Any:
        sub_id, block_hash = _args(params, ("followSubscription", "hash"), 2)
        follow = self._follow_of(sub_id, session)
        if follow is None:
            return None
        return to_hex(self._pinned_block(follow, block_hash).header)

    def _started(self, follow: Follow, deliver: Callable[[str], None], **extra: Any) -> dict[str, Any]:
        operation_id = follow.operation_id()
        follow.session.after_reply.append(lambda: None if follow.stopped else deliver(operation_id))
        return {"result": "started", "operationId": operation_id, **extra}

    def _operations_full(self, follow: Follow) -> bool:
        return len(follow.operations) >= MAX_OPERATIONS

    def body(self, params: list[Any], session: Session) -> Any:
        sub_id, block_hash = _args(params, ("followSubscription", "hash"), 2)
        follow = self._follow_of(sub_id, session)
        if follow is None or self._operations_full(follow):
            return {"result": "limitReached"}
        block = self._pinned_block(follow, block_hash)
        if block.extrinsics is None:  # its body was pruned (--blocks-pruning): the spec's inaccessible outcome
            return self._started(follow, lambda op: follow.event({"event": "operationInaccessible", "operationId": op}))
        value = [to_hex(x) for x in block.extrinsics]
        return self._started(
            follow, lambda op: follow.event({"event": "operationBodyDone", "operationId": op, "value": value})
        )

    def call(self, params: list[Any], session: Session) -> Any:
        sub_id, block_hash, function, call_parameters = _args(
            params, ("followSubscription", "hash", "function", "callParameters"), 4
        )
        follow = self._follow_of(sub_id, session)
        if follow is None or self._operations_full(follow):
            return {"result": "limitReached"}
        block = self._pinned_block(follow, block_hash)
        if not follow.with_runtime:
            raise RpcError(-32802, "Invalid runtime call", "The runtime updates flag must be set")
        if not isinstance(function, str):
            raise _invalid_param("function must be a string")
        try:
            data = from_hex(call_parameters)
        except Exception:
            raise _invalid_param("callParameters must be hex") from None
        try:
            output = self.node.runtime.state_call(self.node.view(block.number), function, data)
            event = {"event": "operationCallDone", "output": to_hex(output)}
        except Exception as exc:
            event = {"event": "operationError", "error": str(getattr(exc, "message", None) or exc)}
        return self._started(follow, lambda op: follow.event({**event, "operationId": op}))

    def storage(self, params: list[Any], session: Session) -> Any:
        sub_id, block_hash, items, child_trie = _args(params, ("followSubscription", "hash", "items", "childTrie"), 3)
        follow = self._follow_of(sub_id, session)
        if follow is None or self._operations_full(follow):
            return {"result": "limitReached"}
        block = self._pinned_block(follow, block_hash)
        if not isinstance(items, list):
            raise _invalid_param("items must be a list of {key, type}")
        queries = []
        for item in items:
            if not isinstance(item, dict) or item.get("type") not in STORAGE_TYPES:
                raise _invalid_param(f"storage item type must be one of {', '.join(STORAGE_TYPES)}")
            try:
                queries.append((item["key"], from_hex(item["key"]), item["type"]))
            except Exception:
                raise _invalid_param("storage item key must be hex") from None
        if child_trie is not None:
            try:
                from_hex(child_trie)
            except Exception:
                raise _invalid_param("childTrie must be hex or null") from None
            results: list[dict[str, str]] = []  # this runtime has no child tries: nothing is found in them
        else:
            results = self._storage_results(block.number, queries)
        operation = _StorageOperation(results)
        started = self._started(follow, lambda op: self._storage_step(follow, op), discardedItems=0)
        follow.operations[started["operationId"]] = operation
        return started

    def _storage_results(self, number: int, queries: list[tuple[str, bytes, str]]) -> list[dict[str, str]]:
        history = self.node.history
        view = self.node.view(number)
        results = []
        for text, key, kind in queries:
            if kind in ("value", "hash"):
                value = view.get(key)
                if value is not None:
                    results.append({"key": text, kind: to_hex(value if kind == "value" else blake2_256(value))})
            elif kind == "closestDescendantMerkleValue":
                merkle = closest_descendant_merkle_value(
                    ((k, view.get(k) or b"") for k in history.keys_with_prefix(b"", number)),
                    key,
                    int(self.node.runtime_version().get("stateVersion", 1)),
                )
                if merkle is not None:
                    results.append({"key": text, "closestDescendantMerkleValue": to_hex(merkle)})
            else:
                as_hash = kind == "descendantsHashes"
                for found in history.keys_with_prefix(key, number):
                    value = view.get(found) or b""
                    results.append(
                        {"key": to_hex(found), "hash" if as_hash else "value": to_hex(blake2_256(value) if as_hash else value)}
                    )
        return results

    def _storage_step(self, follow: Follow, operation_id: str) -> None:
        operation = follow.operations.get(operation_id)
        if operation is None or follow.stopped:
            return
        batch, operation.results = operation.results[:STORAGE_ITEMS_PER_STEP], operation.results[STORAGE_ITEMS_PER_STEP:]
        if batch:
            follow.event({"event": "operationStorageItems", "operationId": operation_id, "items": batch})
        if operation.results:
            operation.waiting = True
            follow.event({"event": "operationWaitingForContinue", "operationId": operation_id})
            return
        follow.operations.pop(operation_id, None)
        follow.event({"event": "operationStorageDone", "operationId": operation_id})

    def continue_(self, params: list[Any], session: Session) -> Any:
        sub_id, operation_id = _args(params, ("followSubscription", "operationId"), 2)
        follow = self._follow_of(sub_id, session)
        if follow is None:
            return None
        operation = follow.operations.get(operation_id) if isinstance(operation_id, str) else None
        if operation is None or not operation.waiting:
            raise RpcError(-32803, "Wait for continue event was not generated for the subscription")
        operation.waiting = False
        session.after_reply.append(lambda: self._storage_step(follow, operation_id))
        return None

    def stop_operation(self, params: list[Any], session: Session) -> Any:
        sub_id, operation_id = _args(params, ("followSubscription", "operationId"), 2)
        follow = self._follow_of(sub_id, session)
        if follow is not None and isinstance(operation_id, str):
            follow.operations.pop(operation_id, None)
        return None

    def unpin(self, params: list[Any], session: Session) -> Any:
        sub_id, hashes = _args(params, ("followSubscription", "hashOrHashes"), 2)
        follow = self._follow_of(sub_id, session)
        if follow is None:
            return None
        raw = [_hash_param(h) for h in (hashes if isinstance(hashes, list) else [hashes])]
        if len(set(raw)) != len(raw):
            raise RpcError(-32804, "Received duplicate hashes for the `chainHead_unpin` method")
        if any(h not in follow.pinned for h in raw):
            raise _invalid_block()
        for block_hash in raw:
            number, _ = follow.pinned.pop(block_hash)
            self.node.unpin(number)
        return None

    # ---- transactions ------------------------------------------------------------------------

    def _block_index(self, block_hex: str, tx_hash: bytes) -> dict[str, Any]:
        block = self.node.block_by_hash(from_hex(block_hex))
        index = 0
        if block is not None and block.extrinsics is not None:
            index = next((i for i, xt in enumerate(block.extrinsics) if blake2_256(xt) == tx_hash), 0)
        return {"hash": block_hex, "index": index}

    def submit_and_watch(self, params: list[Any], session: Session) -> Any:
        (xt,) = _args(params, ("transaction",), 1)
        session.check_subscription_room()
        try:
            raw = from_hex(xt)
        except Exception:
            raise _invalid_param("transaction must be hex") from None
        sub_id = new_subscription_id()
        node = self.node

        def send(result: dict[str, Any]) -> None:
            session.notify(WATCH_EVENT, sub_id, result)
            if result["event"] in ("finalized", "invalid", "dropped", "error"):
                session.subscriptions.pop(sub_id, None)

        try:
            tx_hash, _ = node.submit(raw)
        except PoolError as exc:
            kind = "invalid" if exc.code in (1002, 1010, -32000) else "dropped" if exc.code in (1012, 1016) else "error"
            detail = exc.message if exc.data is None else f"{exc.message}: {exc.data}"
            session.subscriptions[sub_id] = lambda: None
            session.after_reply.append(lambda: send({"event": kind, "error": detail}))
            return sub_id

        def on_status(status: object) -> None:
            if isinstance(status, dict) and "inBlock" in status:
                send({"event": "bestChainBlockIncluded", "block": self._block_index(status["inBlock"], tx_hash)})
            elif isinstance(status, dict) and "finalized" in status:
                send({"event": "finalized", "block": self._block_index(status["finalized"], tx_hash)})
            elif isinstance(status, dict) and "usurped" in status:
                send({"event": "invalid", "error": "Transaction was replaced by another with a higher priority"})
            elif status == "invalid":
                send({"event": "invalid", "error": "Transaction is invalid at the new best block"})
            elif status == "dropped":
                send({"event": "dropped", "error": "Transaction was removed from the pool"})

        session.after_reply.append(lambda: send({"event": "validated"}))
        node.watch(tx_hash, on_status)
        session.subscriptions[sub_id] = lambda: node.unwatch(tx_hash, on_status)
        return sub_id

    def unwatch(self, params: list[Any], session: Session) -> Any:
        (sub_id,) = _args(params, ("subscription",), 1)
        cancel = session.subscriptions.pop(sub_id, None) if isinstance(sub_id, str) else None
        if cancel is not None:
            cancel()
        return None

    def broadcast(self, params: list[Any], session: Session) -> Any:
        (xt,) = _args(params, ("transaction",), 1)
        try:
            raw = from_hex(xt)
        except Exception:
            raise _invalid_param("transaction must be hex") from None
        if len(session.broadcasts) >= MAX_BROADCASTS_PER_CONNECTION:
            return None
        operation_id = new_subscription_id()
        try:
            tx_hash, _ = self.node.submit(raw)
        except PoolError:
            tx_hash = None  # the spec's broadcast never reports validity: an invalid one is just not included

        def done(status: object) -> None:
            if isinstance(status, dict) and "finalized" in status or status in ("invalid", "dropped"):
                session.broadcasts.pop(operation_id, None)

        if tx_hash is not None:
            self.node.watch(tx_hash, done)
            session.broadcasts[operation_id] = tx_hash
        else:
            session.broadcasts[operation_id] = b""
        return operation_id

    def broadcast_stop(self, params: list[Any], session: Session) -> Any:
        (operation_id,) = _args(params, ("operationId",), 1)
        tx_hash = session.broadcasts.pop(operation_id, None) if isinstance(operation_id, str) else None
        if tx_hash is None:
            raise RpcError(-32602, "Invalid operation id")
        if tx_hash:
            self.node.remove_extrinsic(tx_hash)
        return None


__all__ = ["SpecV2", "runtime_spec"]
