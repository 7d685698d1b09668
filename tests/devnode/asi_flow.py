"""async-substrate-interface (pinned) through a DecentralML task's lifecycle.

`python asi_flow.py <ws url> <keys json>` in the interpreter of its own virtualenv
(async-substrate-interface 2.x refuses to import next to substrate-interface's
scalecodec; see scripts/build-asi-venv.sh). The keys JSON maps a name to
{ss58, public, secret} (sr25519, hex), derived by the caller. Prints one JSON line
with what it saw; raises on any failure.
"""

from __future__ import annotations

import asyncio
import json
import sys

import sr25519
from async_substrate_interface import AsyncSubstrateInterface

PALLET = "DecentralMLModule"
UNIT = 10**12


class Sr25519Key:
    """The signer interface async-substrate-interface uses: ss58_address, public_key, crypto_type, sign()."""

    crypto_type = 1  # sr25519

    def __init__(self, ss58: str, public: str, secret: str) -> None:
        self.ss58_address = ss58
        self.public_key = bytes.fromhex(public)
        self._secret = bytes.fromhex(secret)

    def sign(self, data: bytes | str) -> bytes:
        message = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
        return sr25519.sign((self.public_key, self._secret), message)


def asset(uri: str) -> dict:
    return {"storage": "IPFS", "uri": uri, "digest": "0x" + "ab" * 32}


async def main(url: str, keys: dict) -> dict:
    alice, bob = (Sr25519Key(**keys[name]) for name in ("Alice", "Bob"))
    out: dict = {}
    async with AsyncSubstrateInterface(url, ss58_format=42) as substrate:
        out["chain"] = await substrate.rpc_request("system_chain", [])
        out["chain"] = out["chain"]["result"]

        async def submit(signer: Sr25519Key, function: str, params: dict) -> tuple[bool, list, object]:
            call = await substrate.compose_call(PALLET, function, params)
            xt = await substrate.create_signed_extrinsic(call=call, keypair=signer)
            receipt = await substrate.submit_extrinsic(xt, wait_for_inclusion=True, wait_for_finalization=True)
            events = [(e["event"]["module_id"], e["event"]["event_id"], e["event"]["attributes"]) for e in await receipt.triggered_events]
            return await receipt.is_success, events, await receipt.error_message

        def attributes(events: list, name: str) -> dict:
            return next(a for m, e, a in events if m == PALLET and e == name)

        head = await substrate.get_block_number(None)
        ok, events, error = await submit(alice, "create_task", {
            "task_type": "ModelContributor", "question": "Train the digits model for one epoch",
            "pays_amount": 2 * UNIT, "max_assignments": 1, "validation_strategy": "ManualAccept",
            "expiration_block": head + 40, "assignment_deadline": 20,
            "assets": {"ModelContributor": {"contributor_bundle": asset("ipfs://bafy-contributor-bundle"), "base_model": None}},
        })
        assert ok, error
        task_id = attributes(events, "TaskCreated")["task_id"]
        stored = await substrate.query(PALLET, "Tasks", [task_id])
        out["status_after_create"] = stored.value["status"]
        ok, events, error = await submit(bob, "assign_task", {"task_id": task_id})
        assert ok, error
        sid = attributes(events, "TaskAssigned")["submission_id"]
        ok, events, error = await submit(bob, "send_task_result", {
            "submission_id": sid, "result": asset("ipfs://bafy-result"), "inline_result": '{"accuracy": 0.9}', "lineage_digest": None,
        })
        assert ok, error
        before = (await substrate.query("System", "Account", [bob.ss58_address])).value["data"]["free"]
        ok, events, error = await submit(alice, "accept_task_result", {"submission_id": sid})
        assert ok, error
        out["reward"] = attributes(events, "TaskResultAccepted")["reward"]
        after = (await substrate.query("System", "Account", [bob.ss58_address])).value["data"]["free"]
        out["bob_delta"] = after - before
        ok, events, error = await submit(alice, "accept_task_result", {"submission_id": sid})
        out["second_accept"] = {"ok": ok, "error": error["name"] if isinstance(error, dict) else str(error)}
        out["status_at_end"] = (await substrate.query(PALLET, "Tasks", [task_id])).value["status"]
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]))), default=str))
