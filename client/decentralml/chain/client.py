"""The one chain client: every query and every signed transaction goes here.

:meth:`ChainClient.submit` composes, signs (with a locally tracked nonce),
submits and waits for inclusion with a timeout, then checks the receipt and
turns a failed dispatch into our :class:`~decentralml.errors.DispatchError`.
A transaction is signed exactly once: a lost connection after submission is
reported (with the extrinsic hash), never answered by signing again.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, ContextManager

from decentralml.amounts import TokenInfo
from decentralml.chain import errors as chain_errors
from decentralml.chain.types import Balance, Receipt, Submission, Task, TaskStatus, TaskType
from decentralml.errors import (
    ChainError,
    DecentralMLError,
    NodeUnreachableError,
    NotFoundError,
    TransactionError,
    UsageError,
)

PALLET = "DecentralMLModule"
DEFAULT_ERA_PERIOD = 64

SubstrateFactory = Callable[[str, float], Any]


def unreachable(url: str) -> NodeUnreachableError:
    return NodeUnreachableError(
        f"No DecentralML node answers at {url}: start one with `decentralml devnode` or pass --url."
    )


def _default_substrate_factory(url: str, timeout: float) -> Any:
    from substrateinterface import SubstrateInterface

    return SubstrateInterface(url=url, ss58_format=42, ws_options={"timeout": timeout}, auto_reconnect=True)


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
    """substrate-interface raises SubstrateRequestException(error_dict)."""
    return exc.args[0] if exc.args else str(exc)


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks to list; all fields optional and combined with AND."""

    open_only: bool = False
    status: TaskStatus | None = None
    task_type: TaskType | None = None
    creator: str | None = None


def filter_tasks(tasks: list[Task], criteria: TaskFilter, current_block: int) -> list[Task]:
    """Pure: keep the tasks matching ``criteria``; open means status Open,
    unexpired and with a free slot."""
    kept = []
    for task in tasks:
        if criteria.open_only and not (
            task.status is TaskStatus.OPEN and task.expiration_block > current_block and task.free_slots > 0
        ):
            continue
        if criteria.status is not None and task.status is not criteria.status:
            continue
        if criteria.task_type is not None and task.task_type is not criteria.task_type:
            continue
        if criteria.creator is not None and task.creator != criteria.creator:
            continue
        kept.append(task)
    return sorted(kept, key=lambda t: t.task_id)


class ChainClient:
    """A connection to a DecentralML node (substrate-interface underneath)."""

    def __init__(self, substrate: Any, url: str, *, timeout: float = 60.0, era_period: int | None = DEFAULT_ERA_PERIOD):
        self._substrate = substrate
        self.url = url
        self.timeout = timeout
        self.era_period = era_period
        self._next_nonce: dict[str, int] = {}
        self._token: TokenInfo | None = None
        #: Optional hook the CLI sets to show a spinner while a transaction waits
        #: for inclusion: called with a text, must return a context manager.
        self.wait_indicator: Callable[[str], ContextManager[Any]] | None = None

    # -- connection --------------------------------------------------------

    @classmethod
    def connect(
        cls, url: str, *, timeout: float = 60.0, factory: SubstrateFactory | None = None
    ) -> "ChainClient":
        """Open a WebSocket connection; NodeUnreachableError if nobody answers."""
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
        return cls(substrate, url, timeout=timeout)

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
        from substrateinterface.exceptions import BlockNotFound, StorageFunctionNotFound, SubstrateRequestException

        try:
            yield
        except DecentralMLError:
            raise
        except StorageFunctionNotFound as exc:
            raise ChainError(
                f"The node at {self.url} does not know {what} ({exc}).", hint="Is --url a DecentralML node?"
            ) from exc
        except BlockNotFound as exc:
            raise ChainError(f"The node at {self.url} could not serve {what}: {exc}.") from exc
        except SubstrateRequestException as exc:
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

    def block_number(self) -> int:
        """The best block's number."""
        return int(self._read("the block header", lambda: self._substrate.get_block_number(None)))

    def constant(self, module: str, name: str) -> Any:
        value = self._read(f"the constant {module}.{name}", lambda: self._substrate.get_constant(module, name))
        if value is None:
            raise ChainError(f"The runtime has no constant {module}.{name}: is the node a DecentralML node?")
        return value.value

    # -- queries -----------------------------------------------------------

    def _query(self, module: str, item: str, params: list[Any]) -> Any:
        result = self._read(f"the query {module}.{item}", lambda: self._substrate.query(module, item, params))
        return None if result is None else result.value

    def _query_map(self, module: str, item: str, params: list[Any] | None = None) -> list[tuple[Any, Any]]:
        return self._read(
            f"the query {module}.{item}",
            lambda: [(key.value, value.value) for key, value in self._substrate.query_map(module, item, params or [])],
        )

    def get_task(self, task_id: int) -> Task:
        """One task; NotFoundError if there is none with this id."""
        value = self._query(PALLET, "Tasks", [task_id])
        if value is None:
            raise NotFoundError(f"There is no task {task_id}.", hint="See `decentralml list-tasks`.", name="TaskNotFound")
        return Task.from_chain(task_id, value)

    def all_tasks(self) -> list[Task]:
        return [Task.from_chain(_first_key(key), value) for key, value in self._query_map(PALLET, "Tasks") if value]

    def list_tasks(self, criteria: TaskFilter = TaskFilter()) -> list[Task]:
        """Tasks matching ``criteria`` (open / all / mine / by status / by type)."""
        tasks = self.all_tasks()
        current = self.block_number() if criteria.open_only else 0
        return filter_tasks(tasks, criteria, current)

    def get_submission(self, submission_id: int) -> Submission:
        """One submission; NotFoundError if there is none with this id."""
        value = self._query(PALLET, "Submissions", [submission_id])
        if value is None:
            raise NotFoundError(
                f"There is no submission {submission_id}.", hint="See `decentralml list-results TASK_ID`.",
                name="SubmissionNotFound",
            )
        return Submission.from_chain(submission_id, value)

    def task_submissions(self, task_id: int) -> list[Submission]:
        """Every submission of a task, by id (NotFoundError for an unknown task)."""
        self.get_task(task_id)
        ids = sorted(int(_last_key(key)) for key, _ in self._query_map(PALLET, "TaskSubmissions", [task_id]))
        return [self.get_submission(i) for i in ids]

    def worker_submissions(self, address: str) -> list[Submission]:
        """Every submission a worker holds or held, by id."""
        ids = sorted(int(_last_key(key)) for key, _ in self._query_map(PALLET, "WorkerSubmissions", [address]))
        return [self.get_submission(i) for i in ids]

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

    def submit(self, keypair: Any, function: str, params: Mapping[str, Any], module: str = PALLET) -> Receipt:
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
