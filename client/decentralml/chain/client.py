"""The one chain client: every query and every signed transaction goes here.

:meth:`ChainClient.submit` composes, signs (with a locally tracked nonce),
submits and waits for inclusion with a timeout, then checks the receipt and
turns a failed dispatch into our :class:`~decentralml.errors.DispatchError`.
A transaction is signed exactly once: a lost connection after submission is
reported (with the extrinsic hash), never answered by signing again.
"""

from __future__ import annotations

import enum
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ContextManager

from decentralml.amounts import TokenInfo
from decentralml.chain import errors as chain_errors
from decentralml.chain.pallet import LIMIT_CONSTANTS, PALLET, PalletLimits
from decentralml.chain.types import Balance, Receipt, Submission, Task, TaskStatus, TaskType
from decentralml.errors import (
    ChainError,
    DecentralMLError,
    NodeUnreachableError,
    NotFoundError,
    TransactionError,
    UsageError,
)
from decentralml.primitives.keypair import Keypair

if TYPE_CHECKING:
    from decentralml.chain.runtime_types import RuntimeTypes

DEFAULT_ERA_PERIOD = 64
#: The most keys a Substrate node returns per ``state_getKeysPaged`` call
#: (``STORAGE_KEYS_PAGED_MAX_COUNT`` in sc-rpc); value reads are batched in groups of the same size.
MAX_PAGE = 1000
#: Hex length of a ``Blake2_128Concat`` hash of a u64 key: 16 bytes of hash and the 8 bytes of the key.
_U64_CONCAT_HEX = 2 * (16 + 8)

SubstrateFactory = Callable[[str, float], Any]


def unreachable(url: str) -> NodeUnreachableError:
    return NodeUnreachableError(
        f"No DecentralML node answers at {url}: start one with `decentralml devnode` or pass --url."
    )


def _substrate_interface(url: str, timeout: float) -> Any:
    from substrateinterface import SubstrateInterface

    # websocket-client checks every text frame's UTF-8 in pure Python (1.5 s for 10 MB of listing); str.decode,
    # which it calls on every text frame anyway, rejects invalid UTF-8 by itself.
    options = {"timeout": timeout, "skip_utf8_validation": True}
    return SubstrateInterface(url=url, ss58_format=42, ws_options=options, auto_reconnect=True)


def _default_substrate_factory(url: str, timeout: float) -> Any:
    """Reads over plain JSON-RPC; substrate-interface imported and connected only when a command needs it."""
    from decentralml.chain.rpc import LazySubstrate

    return LazySubstrate(url, timeout, lambda: _substrate_interface(url, timeout))


def _is_connection_error(exc: BaseException) -> bool:
    try:
        from websocket import WebSocketException
    except ImportError:  # pragma: no cover - websocket-client is a dependency
        WebSocketException = ()  # type: ignore[assignment,misc]
    return isinstance(exc, (ConnectionError, socket.error, TimeoutError, WebSocketException))


def _is_timeout(exc: BaseException) -> bool:
    try:
        from websocket import WebSocketTimeoutException
    except ImportError:  # pragma: no cover
        return isinstance(exc, (TimeoutError, socket.timeout))
    return isinstance(exc, (TimeoutError, socket.timeout, WebSocketTimeoutException))


def _rpc_error_payload(exc: BaseException) -> Any:
    """substrate-interface's SubstrateRequestException and our RpcRefused carry the node's error object."""
    return exc.args[0] if exc.args else str(exc)


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks to list; all fields optional and combined with AND."""

    open_only: bool = False
    status: TaskStatus | None = None
    task_type: TaskType | None = None
    creator: str | None = None

    def matches(self, task: Task, current_block: int) -> bool:
        """Pure: whether ``task`` passes; open means status Open, unexpired and with a free slot."""
        if self.open_only and not (
            task.status is TaskStatus.OPEN and task.expiration_block > current_block and task.free_slots > 0
        ):
            return False
        if self.status is not None and task.status is not self.status:
            return False
        if self.task_type is not None and task.task_type is not self.task_type:
            return False
        return self.creator is None or task.creator == self.creator


class TaskOrder(str, enum.Enum):
    """How ``list_tasks`` orders its rows. By id it reads only the rows it returns; by reward
    or expiry it must read every candidate first (all open tasks, or all tasks with --all)."""

    NEWEST = "newest"
    OLDEST = "oldest"
    REWARD = "reward"
    EXPIRES = "expires"


def filter_tasks(tasks: list[Task], criteria: TaskFilter, current_block: int) -> list[Task]:
    """Pure: keep the tasks matching ``criteria``, by id."""
    return sorted((t for t in tasks if criteria.matches(t, current_block)), key=lambda t: t.task_id)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _key_u64(key_hex: str) -> int:
    """The trailing u64 of a Blake2_128Concat/Twox64Concat/Identity-hashed map key (little endian)."""
    return int.from_bytes(bytes.fromhex(key_hex[-16:]), "little")


class ChainClient:
    """A connection to a DecentralML node (substrate-interface underneath)."""

    def __init__(
        self,
        substrate: Any,
        url: str,
        *,
        timeout: float = 60.0,
        era_period: int | None = DEFAULT_ERA_PERIOD,
        cache_dir: Path | None = None,
    ):
        self._substrate = substrate
        self.url = url
        self.cache_dir = cache_dir
        self._types: RuntimeTypes | None = None
        self.timeout = timeout
        self.era_period = era_period
        self._next_nonce: dict[str, int] = {}
        self._token: TokenInfo | None = None
        self._limits: PalletLimits | None = None
        #: Optional hook the CLI sets to show a spinner while a transaction waits
        #: for inclusion: called with a text, must return a context manager.
        self.wait_indicator: Callable[[str], ContextManager[Any]] | None = None

    # -- connection --------------------------------------------------------

    @classmethod
    def connect(
        cls, url: str, *, timeout: float = 60.0, factory: SubstrateFactory | None = None, cache_dir: Path | None = None
    ) -> "ChainClient":
        """Open a WebSocket connection; NodeUnreachableError if nobody answers.

        ``cache_dir``: where the runtime types decoded from the node's metadata are cached
        (:mod:`decentralml.chain.runtime_types`); None decodes them on every connection.
        """
        if not url.startswith(("ws://", "wss://")):
            raise UsageError(f"The node URL {url!r} must start with ws:// or wss://.", hint="Pass e.g. --url ws://127.0.0.1:9944.")
        make = factory or _default_substrate_factory
        try:
            substrate = make(url, timeout)
        except DecentralMLError:
            raise
        except Exception as exc:  # noqa: BLE001 - translated at the boundary
            if _is_connection_error(exc) or isinstance(exc, (OSError, ValueError)):
                raise unreachable(url) from exc
            raise ChainError(f"Cannot talk to the node at {url}: {exc}.") from exc
        return cls(substrate, url, timeout=timeout, cache_dir=cache_dir)

    def close(self) -> None:
        try:
            self._substrate.close()
        except Exception:  # noqa: BLE001 - closing must not fail a command
            pass

    def __enter__(self) -> "ChainClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """Turn substrate-interface and socket failures into our errors."""
        from decentralml.chain.rpc import RpcRefused

        # substrate-interface's exceptions can only come from it once it is imported (reads do without it).
        interface = sys.modules.get("substrateinterface.exceptions")
        not_found = (interface.StorageFunctionNotFound,) if interface else ()
        no_block = (interface.BlockNotFound,) if interface else ()
        refused = (RpcRefused, interface.SubstrateRequestException) if interface else (RpcRefused,)
        try:
            yield
        except DecentralMLError:
            raise
        except not_found as exc:
            raise ChainError(
                f"The node at {self.url} does not know {what} ({exc}).", hint="Is --url a DecentralML node?"
            ) from exc
        except no_block as exc:
            raise ChainError(f"The node at {self.url} could not serve {what}: {exc}.") from exc
        except refused as exc:
            raise ChainError(f"The node refused {what}: {_rpc_error_payload(exc)}.") from exc
        except Exception as exc:  # noqa: BLE001
            if _is_connection_error(exc):
                raise unreachable(self.url) from exc
            raise

    def _read(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run an idempotent read; after a dropped connection, reconnect once and retry.

        Only reads go through here: a transaction is never re-signed or re-sent by us.
        """
        try:
            with self._translated(what):
                return fn()
        except NodeUnreachableError:
            try:
                self._substrate.connect_websocket()
            except Exception as exc:  # noqa: BLE001 - the node is really gone
                raise unreachable(self.url) from exc
            with self._translated(what):
                return fn()

    # -- chain facts -------------------------------------------------------

    @property
    def token(self) -> TokenInfo:
        """Decimals and symbol from system_properties (cached)."""
        if self._token is None:
            props = self._read("system_properties", lambda: self._substrate.properties) or {}
            decimals = props.get("tokenDecimals", 12)
            symbol = props.get("tokenSymbol", "UNIT")
            if isinstance(decimals, list):
                decimals = decimals[0]
            if isinstance(symbol, list):
                symbol = symbol[0]
            self._token = TokenInfo(decimals=int(decimals), symbol=str(symbol))
        return self._token

    @property
    def limits(self) -> PalletLimits:
        """The pallet's limits from the node's metadata (cached): see :class:`~decentralml.chain.pallet.PalletLimits`."""
        if self._limits is None:
            self._limits = PalletLimits(
                **{field: int(self.constant(PALLET, name)) for field, name in LIMIT_CONSTANTS.items()}
            )
        return self._limits

    def block_number(self) -> int:
        """The best block's number."""
        return int(self._read("the block header", lambda: self._substrate.get_block_number(None)))

    def constant(self, module: str, name: str) -> Any:
        value = self._read(f"the constant {module}.{name}", lambda: self._substrate.get_constant(module, name))
        if value is None:
            raise ChainError(f"The runtime has no constant {module}.{name}: is the node a DecentralML node?")
        return value.value

    # -- queries -----------------------------------------------------------

    @property
    def types(self) -> RuntimeTypes:
        """The runtime's storage entries and value decoding (cached on disk per genesis, spec version and metadata)."""
        if self._types is None:
            from decentralml.chain.runtime_types import load_runtime_types

            self._types = self._read(
                "the runtime metadata", lambda: load_runtime_types(lambda m, p: self._rpc("the runtime metadata", m, p), self.cache_dir)
            )
        return self._types

    def _query(self, module: str, item: str, params: list[Any]) -> Any:
        """One storage value at the best block (its default when absent and the item has one, else None)."""
        types = self.types
        key = types.storage_key(module, item, params)
        raw = self._rpc(f"the query {module}.{item}", "state_getStorage", [key])
        return self._read(f"a {module}.{item} value", lambda: types.value(module, item, raw))

    # -- batched reads (one block, pages of MAX_PAGE) ------------------------

    def _rpc(self, what: str, method: str, params: list[Any]) -> Any:
        from decentralml.chain.rpc import RpcRefused

        def call() -> Any:
            response = self._substrate.rpc_request(method, params)
            if "error" in response:
                raise RpcRefused(response["error"])
            return response.get("result")

        return self._read(what, call)

    def best_hash(self) -> str:
        """The best block's hash: the one block every read of a listing is made at."""
        return str(self._rpc("the best block hash", "chain_getBlockHash", []))

    def _block_number_at(self, block_hash: str) -> int:
        header = self._rpc("the block header", "chain_getHeader", [block_hash])
        if not header:
            raise ChainError(f"The node at {self.url} does not know block {block_hash}.")
        return int(header["number"], 16)

    def _storage_key(self, item: str, params: list[Any], at: str, module: str = PALLET) -> str:
        """Hex storage key (or prefix, with fewer params than the map has keys) of ``module.item``."""
        return self._read(f"the storage key of {module}.{item}", lambda: self.types.storage_key(module, item, params))

    def _keys(self, prefix: str, at: str) -> Iterator[str]:
        """Every key under ``prefix`` at block ``at``, ascending, MAX_PAGE per request."""
        start: str | None = None
        while True:
            page = self._rpc("a page of storage keys", "state_getKeysPaged", [prefix, MAX_PAGE, start or prefix, at]) or []
            yield from page
            if len(page) < MAX_PAGE:
                return
            start = page[-1]

    def _values(self, module: str, item: str, keys: list[str], at: str) -> Iterator[tuple[str, Any]]:
        """(key, decoded value or None) for ``keys`` at block ``at``, in their order, MAX_PAGE keys per request."""
        types = self.types
        entry = types.entry(module, item)
        for chunk in _chunks(keys, MAX_PAGE):
            groups = self._rpc(f"the query {module}.{item}", "state_queryStorageAt", [chunk, at]) or []
            found = {key: value for group in groups for key, value in group.get("changes", [])}
            for key in chunk:
                raw = found.get(key)
                if raw is None:
                    yield key, None
                    continue
                try:
                    value = types.decode(entry.value_type, raw)
                except (ValueError, TypeError) as exc:
                    raise ChainError(
                        f"The node's {module}.{item} value at {key} does not decode with its own metadata: {exc}.",
                        hint="Is the node's runtime consistent? Try again after an upgrade completes.",
                    ) from None
                yield key, value

    def _tasks_by_id(self, ids: list[int], tasks_prefix: str, id_keys: Mapping[int, str], at: str) -> Iterator[Task]:
        keys = [tasks_prefix + id_keys[i] for i in ids]
        for key, value in self._values(PALLET, "Tasks", keys, at):
            if value:
                yield Task.from_chain(_key_u64(key), value)

    # -- queries of records ----------------------------------------------------

    def get_task(self, task_id: int) -> Task:
        """One task; NotFoundError if there is none with this id."""
        value = self._query(PALLET, "Tasks", [task_id])
        if value is None:
            raise NotFoundError(
                f"There is no task {task_id}.", hint="See `decentralml list-tasks`.", module=PALLET, name="TaskNotFound"
            )
        return Task.from_chain(task_id, value)

    def list_tasks(self, criteria: TaskFilter = TaskFilter()) -> list[Task]:
        """Every task matching ``criteria``, by id."""
        return sorted(self.iter_tasks(criteria, order=TaskOrder.OLDEST).tasks, key=lambda t: t.task_id)

    def iter_tasks(
        self,
        criteria: TaskFilter = TaskFilter(),
        *,
        limit: int | None = None,
        offset: int = 0,
        order: TaskOrder = TaskOrder.NEWEST,
    ) -> "TaskListing":
        """Tasks matching ``criteria`` at the best block, ``offset`` rows skipped and at most ``limit`` returned.

        Open tasks come from the runtime's ``OpenTasks`` index (its keys only, MAX_PAGE per request);
        other listings walk task ids ``NextTaskId - 1`` down to 0 (tasks are never deleted). By id order
        only as many ``Tasks`` values are read as the filter needs to fill the page; by reward or
        expiry every candidate is read, then sorted. ``TaskListing.tasks`` is a lazy iterator.
        """
        if limit is not None and limit < 0 or offset < 0:
            raise UsageError("--limit and --offset must not be negative.")
        at = self.best_hash()
        current = self._block_number_at(at)
        tasks_prefix = self._storage_key("Tasks", [], at)
        id_keys: Mapping[int, str]
        if criteria.open_only or criteria.status is TaskStatus.OPEN:
            open_prefix = self._storage_key("OpenTasks", [], at)
            id_keys = {_key_u64(key): key[len(open_prefix) :] for key in self._keys(open_prefix, at)}
            ids = sorted(id_keys)
            candidates = len(ids)
        elif limit is not None and order in (TaskOrder.NEWEST, TaskOrder.OLDEST) and criteria == TaskFilter():
            # A page of the whole history: ids are 0..NextTaskId-1 (never deleted); hash only the keys shown.
            count = int(next(self._values(PALLET, "NextTaskId", [self._storage_key("NextTaskId", [], at)], at))[1] or 0)
            ids = list(range(count))
            id_keys = _TaskKeySuffixes(self, at, len(tasks_prefix))
            candidates = count
        else:
            id_keys = {_key_u64(key): key[len(tasks_prefix) :] for key in self._keys(tasks_prefix, at)}
            ids = sorted(id_keys)
            candidates = len(ids)
        if order is not TaskOrder.OLDEST:
            ids.reverse()

        def by_id() -> Iterator[Task]:
            skipped = returned = 0
            position = 0
            while position < len(ids) and (limit is None or returned < limit):
                wanted = MAX_PAGE if limit is None else max(1, min(MAX_PAGE, offset - skipped + limit - returned))
                batch = ids[position : position + wanted]
                position += len(batch)
                for task in self._tasks_by_id(batch, tasks_prefix, id_keys, at):
                    if not criteria.matches(task, current):
                        continue
                    if skipped < offset:
                        skipped += 1
                        continue
                    if limit is not None and returned >= limit:
                        return
                    returned += 1
                    yield task

        def sorted_rows() -> Iterator[Task]:
            kept = [t for t in self._tasks_by_id(ids, tasks_prefix, id_keys, at) if criteria.matches(t, current)]
            if order is TaskOrder.REWARD:
                kept.sort(key=lambda t: (-t.pays_amount, -t.task_id))
            else:
                kept.sort(key=lambda t: (t.expiration_block, t.task_id))
            end = None if limit is None else offset + limit
            yield from kept[offset:end]

        rows = by_id() if order in (TaskOrder.NEWEST, TaskOrder.OLDEST) else sorted_rows()
        return TaskListing(tasks=rows, block_number=current, candidates=candidates)

    def get_submission(self, submission_id: int) -> Submission:
        """One submission; NotFoundError if there is none with this id."""
        value = self._query(PALLET, "Submissions", [submission_id])
        if value is None:
            raise NotFoundError(
                f"There is no submission {submission_id}.", hint="See `decentralml list-results TASK_ID`.",
                module=PALLET, name="SubmissionNotFound",
            )
        return Submission.from_chain(submission_id, value)

    def _submissions_under(self, index: str, first_key: Any, at: str) -> list[Submission]:
        """The submissions an index double map (``TaskSubmissions``/``WorkerSubmissions``) lists under
        its first key, by id: one key walk and one batched value read."""
        index_prefix = self._storage_key(index, [first_key], at)
        submissions_prefix = self._storage_key("Submissions", [], at)
        keys = sorted((submissions_prefix + key[-_U64_CONCAT_HEX:] for key in self._keys(index_prefix, at)), key=_key_u64)
        found = []
        for key, value in self._values(PALLET, "Submissions", keys, at):
            if value is None:
                raise ChainError(f"The chain lists submission {_key_u64(key)} under {index} but does not hold it.")
            found.append(Submission.from_chain(_key_u64(key), value))
        return found

    def task_submissions(self, task_id: int) -> list[Submission]:
        """Every submission of a task, by id (NotFoundError for an unknown task)."""
        at = self.best_hash()
        task_key = self._storage_key("Tasks", [task_id], at)
        if next(self._values(PALLET, "Tasks", [task_key], at))[1] is None:
            raise NotFoundError(f"There is no task {task_id}.", hint="See `decentralml list-tasks`.", name="TaskNotFound")
        return self._submissions_under("TaskSubmissions", task_id, at)

    def worker_submissions(self, address: str) -> list[Submission]:
        """Every submission a worker holds or held, by id."""
        return self._submissions_under("WorkerSubmissions", address, self.best_hash())

    def balance(self, address: str) -> Balance:
        """Free, reserved and frozen balance of an account in planck."""
        info = self._query("System", "Account", [address]) or {}
        data = info.get("data", {})
        frozen = data.get("frozen", max(int(data.get("misc_frozen", 0)), int(data.get("fee_frozen", 0))))
        return Balance(address, int(data.get("free", 0)), int(data.get("reserved", 0)), int(frozen))

    def block_events(self, number: int) -> tuple[str, list[tuple[str, str, Mapping[str, Any]]]]:
        """The hash of block ``number`` and its ``System.Events`` as (module, event, attributes).

        NotFoundError if the chain has no such block yet.
        """

        def read() -> tuple[str, list[tuple[str, str, Mapping[str, Any]]]]:
            block_hash = self._substrate.get_block_hash(number)
            if block_hash is None:
                raise NotFoundError(f"The chain has no block {number} yet.")
            records = self._substrate.query("System", "Events", block_hash=block_hash)
            events = []
            for record in records.value if records is not None else []:
                event = record.get("event", record) if isinstance(record, Mapping) else {}
                module = record.get("module_id") or event.get("module_id")
                name = record.get("event_id") or event.get("event_id")
                attributes = record.get("attributes", event.get("attributes")) or {}
                if module and name:
                    events.append((str(module), str(name), attributes))
            return str(block_hash), events

        return self._read(f"the events of block {number}", read)

    def pending_transactions(self, address: str) -> int:
        """How many of ``address``'s transactions wait in the node's pool (next index minus the state nonce)."""
        info = self._query("System", "Account", [address]) or {}
        return max(0, self.account_next_index(address) - int(info.get("nonce", 0)))

    # -- transactions ------------------------------------------------------

    def account_next_index(self, address: str) -> int:
        response = self._read(
            "the account nonce", lambda: self._substrate.rpc_request("system_accountNextIndex", [address])
        )
        return int(response.get("result", 0))

    def _reserve_nonce(self, address: str) -> int:
        """max(chain's next index incl. pool, our last used + 1)."""
        on_chain = self.account_next_index(address)
        return max(on_chain, self._next_nonce.get(address, 0))

    def submit(self, keypair: Keypair, function: str, params: Mapping[str, Any], module: str = PALLET) -> Receipt:
        """Sign once, submit, wait for inclusion, check the receipt.

        Raises TransactionError if the pool refuses it or it is not included in
        time, a DispatchError subclass if it was included but failed.
        """
        substrate = self._substrate

        def compose() -> Any:
            try:
                return substrate.compose_call(call_module=module, call_function=function, call_params=dict(params))
            except (ValueError, TypeError, KeyError) as exc:
                raise ChainError(f"Cannot encode {module}.{function} for this runtime: {exc}.") from exc

        call = self._read(f"the call {module}.{function}", compose)
        address = keypair.ss58_address
        nonce = self._reserve_nonce(address)
        era = {"period": self.era_period} if self.era_period else None
        # Signing reads the genesis and era block hashes; nothing has been sent yet, so a retry is safe.
        extrinsic = self._read(
            "signing", lambda: substrate.create_signed_extrinsic(call=call, keypair=keypair, era=era, nonce=nonce)
        )
        extrinsic_hash = "0x" + extrinsic.extrinsic_hash.hex()
        indicator = self.wait_indicator or (lambda text: nullcontext())
        with indicator(f"Waiting for {module}.{function} to be included..."):
            block_hash = self._submit_and_watch(extrinsic, extrinsic_hash, address, nonce)
            return self._receipt(extrinsic_hash, block_hash)

    def _submit_and_watch(self, extrinsic: Any, extrinsic_hash: str, address: str, nonce: int) -> str:
        from substrateinterface.exceptions import SubstrateRequestException

        deadline = time.monotonic() + self.timeout
        accepted = False

        def on_update(message: Mapping[str, Any], update_nr: int, subscription_id: Any) -> Any:
            nonlocal accepted
            accepted = True
            result = message.get("params", {}).get("result")
            if isinstance(result, Mapping):
                lowered = {str(k).lower(): v for k, v in result.items()}
                if "inblock" in lowered or "finalized" in lowered:
                    try:
                        self._substrate.rpc_request("author_unwatchExtrinsic", [subscription_id])
                    except Exception:  # noqa: BLE001 - unwatching is a courtesy
                        pass
                    return {"block_hash": lowered.get("inblock") or lowered.get("finalized")}
                status = next(iter(lowered), "")
                if status in ("dropped", "invalid", "usurped"):
                    raise _Gone(status)
            elif result in ("dropped", "invalid", "usurped"):
                raise _Gone(str(result))
            if time.monotonic() > deadline:
                raise TransactionError(
                    f"Transaction {extrinsic_hash} was not included within {self.timeout:g} s; it may still be:"
                    " check the chain before retrying."
                )
            return None

        try:
            response = self._substrate.rpc_request(
                "author_submitAndWatchExtrinsic", [str(extrinsic.data)], result_handler=on_update
            )
        except SubstrateRequestException as exc:
            raise chain_errors.rpc_transaction_error(_rpc_error_payload(exc)) from exc
        except _Gone as gone:
            if gone.status == "usurped":  # another transaction took this nonce
                self._next_nonce[address] = nonce + 1
            else:  # dropped or invalid: the nonce is free again, ask the node next time
                self._next_nonce.pop(address, None)
            raise TransactionError(
                f"The node {'replaced' if gone.status == 'usurped' else 'dropped'} transaction {extrinsic_hash}"
                f" ({gone.status}): it was not included. Retry."
            ) from None
        except DecentralMLError:  # the inclusion timeout: it may still be included with this nonce
            self._next_nonce[address] = nonce + 1
            raise
        except Exception as exc:  # noqa: BLE001
            if accepted:
                self._next_nonce[address] = nonce + 1
            if _is_timeout(exc):
                raise TransactionError(
                    f"Transaction {extrinsic_hash} was not included within {self.timeout:g} s; it may still be:"
                    " check the chain before retrying."
                ) from exc
            if _is_connection_error(exc):
                raise NodeUnreachableError(
                    f"Lost the node at {self.url} after sending transaction {extrinsic_hash}; it may have been"
                    " included: check the chain before retrying."
                ) from exc
            raise
        self._next_nonce[address] = nonce + 1
        return str(response["block_hash"])

    def _receipt(self, extrinsic_hash: str, block_hash: str) -> Receipt:
        raw_events, block_number = self._fetch_events(extrinsic_hash, block_hash)
        events = tuple((e["module_id"], e["event_id"], e.get("attributes") or {}) for e in raw_events)
        fee: int | None = None
        for module, name, attributes in events:
            if module == "TransactionPayment" and name == "TransactionFeePaid":
                fee = int(attributes.get("actual_fee", 0))
            if module == "System" and name == "ExtrinsicFailed":
                raise self._dispatch_failure(attributes)
        if not any(m == "System" and n == "ExtrinsicSuccess" for m, n, _ in events):
            raise ChainError(
                f"Transaction {extrinsic_hash} is in block {block_hash} but reported neither success nor failure."
            )
        return Receipt(extrinsic_hash, block_hash, block_number, events, fee)

    def _fetch_events(self, extrinsic_hash: str, block_hash: str) -> tuple[list[Mapping[str, Any]], int | None]:
        """The events of one extrinsic in a block, and the block's number."""
        from substrateinterface.base import ExtrinsicReceipt

        def read() -> list[Mapping[str, Any]]:
            receipt = ExtrinsicReceipt(substrate=self._substrate, extrinsic_hash=extrinsic_hash, block_hash=block_hash)
            return [event.value for event in receipt.triggered_events]

        raw_events = self._read("the transaction's events", read)
        try:
            block_number: int | None = int(self._substrate.get_block_number(block_hash))
        except Exception:  # noqa: BLE001 - the number is informative only
            block_number = None
        return raw_events, block_number

    def _dispatch_failure(self, attributes: Any) -> DecentralMLError:
        raw = attributes.get("dispatch_error") if isinstance(attributes, Mapping) else attributes[0]
        if isinstance(raw, Mapping) and "Module" in raw:
            module_error = raw["Module"]
            if isinstance(module_error, (tuple, list)):
                index, error = module_error[0], module_error[1]
            else:
                index, error = module_error["index"], module_error["error"]
            if isinstance(error, str):
                error = int(error[2:4], 16)
            elif isinstance(error, (list, tuple)):
                error = int(error[0])
            return self._module_error(int(index), int(error))
        return chain_errors.generic_dispatch_error(raw)

    def _module_error(self, pallet_index: int, error_index: int) -> DecentralMLError:
        metadata = self._substrate.metadata
        pallet_name = None
        for pallet in metadata.pallets:
            if pallet["index"] == pallet_index:
                pallet_name = pallet.value["name"]
                break
        error = metadata.get_module_error(module_index=pallet_index, error_index=error_index)
        if error is None:
            return chain_errors.dispatch_error(pallet_name, f"error #{error_index}")
        return chain_errors.dispatch_error(pallet_name, error.name, error.docs)


@dataclass
class TaskListing:
    """One listing of tasks: rows (lazy, in the asked order), the block they were read at, and how many
    tasks were candidates before filtering (open tasks in the index, or all tasks)."""

    tasks: Iterator[Task]
    block_number: int
    candidates: int


class _TaskKeySuffixes(Mapping[int, str]):
    """``Tasks`` key suffixes (hasher output and SCALE id) computed on demand from the metadata."""

    def __init__(self, client: ChainClient, at: str, prefix_length: int) -> None:
        self._client = client
        self._at = at
        self._prefix_length = prefix_length

    def __getitem__(self, task_id: int) -> str:
        return self._client._storage_key("Tasks", [task_id], self._at)[self._prefix_length :]

    def __iter__(self) -> Iterator[int]:  # pragma: no cover - only indexed
        raise TypeError("computed on demand")

    def __len__(self) -> int:  # pragma: no cover - only indexed
        raise TypeError("computed on demand")


class _Gone(Exception):
    """The pool reported a submitted transaction dropped, invalid or usurped."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def _first_key(key: Any) -> int:
    if isinstance(key, (list, tuple)):
        return int(key[0])
    return int(key)


def _last_key(key: Any) -> Any:
    if isinstance(key, (list, tuple)):
        return key[-1]
    return key
