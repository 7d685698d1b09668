"""A scripted stand-in for substrate-interface's SubstrateInterface (transport level)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from substrateinterface.exceptions import SubstrateRequestException
from websocket import WebSocketConnectionClosedException, WebSocketTimeoutException

from decentralml.chain.client import ChainClient


@dataclass
class FakeCall:
    module: str
    function: str
    params: dict


@dataclass
class FakeExtrinsic:
    call: FakeCall
    nonce: int
    signer: str

    @property
    def extrinsic_hash(self) -> bytes:
        return hashlib.sha256(f"{self.signer}:{self.nonce}:{self.call.function}".encode()).digest()

    @property
    def data(self) -> str:
        return "0x" + self.extrinsic_hash.hex()


class FakeError:
    def __init__(self, name: str, docs: list[str]) -> None:
        self.name, self.docs = name, docs


class FakePallet(dict):
    def __init__(self, index: int, name: str) -> None:
        super().__init__(index=index)
        self.value = {"name": name, "index": index}


class FakeMetadata:
    pallets = [FakePallet(0, "System"), FakePallet(2, "Balances"), FakePallet(5, "DecentralMLModule")]
    errors = {(5, 0): FakeError("TaskNotFound", ["The task does not exist:", "check the id."]),
              (5, 3): FakeError("NoFreeSlot", ["The task has no free slot."])}

    def get_module_error(self, module_index: int, error_index: int) -> FakeError | None:
        return self.errors.get((module_index, error_index))


@dataclass
class FakeSubstrate:
    chain_nonce: int = 0
    outcomes: list[str] = field(default_factory=list)  # per submission: ok, ban, fees, lost, timeout, dropped, silent
    submitted: list[FakeExtrinsic] = field(default_factory=list)
    signed_nonces: list[int] = field(default_factory=list)
    properties: dict = field(default_factory=lambda: {"tokenDecimals": 12, "tokenSymbol": "UNIT", "ss58Format": 42})
    metadata: FakeMetadata = field(default_factory=FakeMetadata)
    closed: bool = False
    query_error: Exception | None = None
    storage: dict = field(default_factory=dict)

    def compose_call(self, call_module: str, call_function: str, call_params: dict) -> FakeCall:
        if call_function == "bad":
            raise ValueError("unknown call")
        return FakeCall(call_module, call_function, call_params)

    def create_signed_extrinsic(self, call: FakeCall, keypair: Any, era: Any = None, nonce: int | None = None) -> FakeExtrinsic:
        assert nonce is not None, "the client must pass the nonce it tracks"
        self.signed_nonces.append(nonce)
        return FakeExtrinsic(call, nonce, keypair.ss58_address)

    def get_block_number(self, block_hash: Any) -> int:
        return 7

    def query(self, module: str, item: str, params: list) -> Any:
        if self.query_error is not None:
            raise self.query_error
        value = self.storage.get((module, item, tuple(params)))

        class _V:
            pass

        v = _V()
        v.value = value  # type: ignore[attr-defined]
        return v

    def close(self) -> None:
        self.closed = True

    def rpc_request(self, method: str, params: list, result_handler: Any = None) -> Any:
        if self.query_error is not None and method.startswith(("state_", "chain_")):
            raise self.query_error
        if method == "system_accountNextIndex":
            return {"result": self.chain_nonce}
        if method == "author_unwatchExtrinsic":
            return {"result": True}
        assert method == "author_submitAndWatchExtrinsic"
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if outcome == "ban":
            raise SubstrateRequestException({"code": 1012, "message": "Transaction is temporarily banned"})
        if outcome == "fees":
            raise SubstrateRequestException(
                {"code": 1010, "message": "Invalid Transaction", "data": "Inability to pay some fees (e.g. account balance too low)"}
            )
        self.submitted.append(params[0])
        assert result_handler(_msg("ready"), 0, "sub1") is None
        if outcome == "lost":
            raise WebSocketConnectionClosedException("Connection to remote host was lost.")
        if outcome == "timeout":
            raise WebSocketTimeoutException("timed out")
        if outcome == "dropped":
            return result_handler(_msg("dropped"), 1, "sub1")
        return result_handler(_msg({"inBlock": "0xblock"}), 1, "sub1")


def _msg(result: Any) -> dict:
    return {"params": {"subscription": "sub1", "result": result}}


SUCCESS = [
    {"module_id": "DecentralMLModule", "event_id": "TaskCreated", "attributes": {"task_id": 3}},
    {"module_id": "TransactionPayment", "event_id": "TransactionFeePaid", "attributes": {"actual_fee": 125}},
    {"module_id": "System", "event_id": "ExtrinsicSuccess", "attributes": {"dispatch_info": {"weight": 1}}},
]


def failed(dispatch_error: Any) -> list[dict]:
    return [
        {"module_id": "System", "event_id": "ExtrinsicFailed",
         "attributes": {"dispatch_error": dispatch_error, "dispatch_info": {"weight": 1}}},
    ]


class ScriptedClient(ChainClient):
    """A ChainClient whose receipts' events come from a script."""

    def __init__(self, substrate: FakeSubstrate, events: list[list[dict]] | None = None, timeout: float = 5.0) -> None:
        super().__init__(substrate, "ws://fake:9944", timeout=timeout)
        self.events_script = events or []

    def _fetch_events(self, extrinsic_hash: str, block_hash: str) -> tuple[list, int | None]:
        return (self.events_script.pop(0) if self.events_script else SUCCESS), 7


