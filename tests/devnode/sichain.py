"""Helpers for driving the dev node with unmodified substrate-interface 1.8.1 in tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from substrateinterface import ExtrinsicReceipt, Keypair, SubstrateInterface

UNIT = 10**12
PALLET = "DecentralMLModule"


def connect(url: str) -> SubstrateInterface:
    return SubstrateInterface(url=url, auto_reconnect=False)


def keypair(name: str) -> Keypair:
    return Keypair.create_from_uri(f"//{name}", ss58_format=42)


def free(substrate: SubstrateInterface, who: Keypair) -> int:
    return int(substrate.query("System", "Account", [who.ss58_address]).value["data"]["free"])


def submit(substrate: SubstrateInterface, signer: Keypair, module: str, function: str, params: dict[str, Any]) -> ExtrinsicReceipt:
    call = substrate.compose_call(module, function, params)
    xt = substrate.create_signed_extrinsic(call=call, keypair=signer)
    return substrate.submit_extrinsic(xt, wait_for_inclusion=True, wait_for_finalization=True)


@dataclass(frozen=True)
class Event:
    module: str
    name: str
    attributes: Any


def events(receipt: ExtrinsicReceipt) -> list[Event]:
    out = []
    for record in receipt.triggered_events:
        value = record.value
        out.append(Event(value["module_id"], value["event_id"], value["attributes"]))
    return out


def event(receipt: ExtrinsicReceipt, module: str, name: str) -> Any:
    found = [e.attributes for e in events(receipt) if (e.module, e.name) == (module, name)]
    assert len(found) == 1, f"expected one {module}.{name} in {events(receipt)}"
    return found[0]


def asset(uri: str, fill: str = "ab") -> dict[str, Any]:
    return {"storage": "IPFS", "uri": uri, "digest": "0x" + fill * 32}


def create_task_params(
    *,
    pays: int,
    slots: int,
    expiration_block: int,
    deadline: int = 20,
    strategy: str = "ManualAccept",
    question: str = "Train the digits model for one epoch and report accuracy",
) -> dict[str, Any]:
    return {
        "task_type": "ModelContributor",
        "question": question,
        "pays_amount": pays,
        "max_assignments": slots,
        "validation_strategy": strategy,
        "expiration_block": expiration_block,
        "assignment_deadline": deadline,
        "assets": {"ModelContributor": {"contributor_bundle": asset("ipfs://bafy-contributor-bundle"), "base_model": None}},
    }


def best_number(substrate: SubstrateInterface) -> int:
    return int(substrate.get_block_number(substrate.get_chain_head()))
