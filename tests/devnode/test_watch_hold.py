"""A watcher's `finalized` waits for the client's reads of its block, or for the bound (watch_hold)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest
import websocket  # websocket-client, substrate-interface's transport: answers pings with pongs

from decentralml.devnode.watch_hold import HOLD_BOUND, FinalizedHold

BLOCK = "0x" + "ab" * 32
OTHER = "0x" + "cd" * 32


def run(scenario: Callable[[], object]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]


def test_released_by_the_block_and_storage_reads_after_the_pong():
    async def scenario() -> None:
        pings: list[Callable[[], None]] = []
        released: list[str] = []
        hold = FinalizedHold(ping=pings.append, bound=5.0)
        hold.hold(BLOCK, lambda: released.append("finalized"))
        hold.read("chain_getBlock", BLOCK)
        hold.read("state_getStorage", OTHER)  # another block's read releases nothing
        hold.read("chain_getHeader", BLOCK)  # not one of the reads that complete InBlock
        await asyncio.sleep(0.05)
        assert released == [] and pings == []
        hold.read("state_getStorage", BLOCK.upper().replace("0X", "0x"))
        assert released == [] and len(pings) == 1  # answered: now the ping after those answers
        pings[0]()
        assert released == ["finalized"]
        pings[0]()  # a second pong for the same ping sends nothing twice
        assert released == ["finalized"]

    run(scenario)


def test_reads_made_before_finality_release_at_once():
    async def scenario() -> None:
        released: list[str] = []
        hold = FinalizedHold(ping=None, bound=5.0)
        hold.read("chain_getBlock", BLOCK)
        hold.read("state_getStorage", BLOCK)
        hold.hold(BLOCK, lambda: released.append("finalized"))
        assert released == ["finalized"]

    run(scenario)


def test_released_by_the_bound_and_a_client_that_does_not_read_is_not_held_again():
    async def scenario() -> None:
        released: list[float] = []
        hold = FinalizedHold(ping=None, bound=0.2)
        start = time.monotonic()
        hold.hold(BLOCK, lambda: released.append(time.monotonic() - start))
        await asyncio.sleep(0.1)
        assert released == []
        await asyncio.sleep(0.3)
        assert len(released) == 1 and released[0] >= 0.2
        assert hold.reads_blocks is False
        hold.hold(OTHER, lambda: released.append(-1.0))
        assert released[-1] == -1.0  # at once

    run(scenario)


def test_bound_after_a_partial_read_keeps_holding_the_next_watcher():
    async def scenario() -> None:
        released: list[str] = []
        hold = FinalizedHold(ping=None, bound=0.1)
        hold.hold(BLOCK, lambda: released.append("first"))
        hold.read("chain_getBlock", BLOCK)
        await asyncio.sleep(0.2)
        assert released == ["first"] and hold.reads_blocks is True
        hold.hold(OTHER, lambda: released.append("second"))
        assert released == ["first"]

    run(scenario)


def test_a_cancelled_or_closed_hold_sends_nothing():
    async def scenario() -> None:
        released: list[str] = []
        hold = FinalizedHold(ping=None, bound=0.05)
        cancel = hold.hold(BLOCK, lambda: released.append("cancelled"))
        hold.hold(OTHER, lambda: released.append("closed"))
        cancel()
        hold.close()
        await asyncio.sleep(0.1)
        hold.read("chain_getBlock", BLOCK)
        hold.read("state_getStorage", BLOCK)
        assert released == []

    run(scenario)


# ---- against the dev node ----------------------------------------------------------------


class Client:
    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=10)
        self.next_id = 0

    def call(self, method: str, params: list[object]) -> object:
        self.next_id += 1
        self.ws.send(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                return message["result"]

    def status(self, timeout: float) -> object:
        """The next transaction status; TimeoutError when none comes within ``timeout`` s."""
        self.ws.settimeout(timeout)
        try:
            return json.loads(self.ws.recv())["params"]["result"]
        except websocket.WebSocketTimeoutException:
            raise TimeoutError from None
        finally:
            self.ws.settimeout(10)


def signed_remark(url: str, nonce: int) -> str:
    from tests.devnode.sichain import connect, keypair

    substrate = connect(url)
    try:
        call = substrate.compose_call("System", "remark", {"remark": f"0x{nonce:02x}"})
        return str(substrate.create_signed_extrinsic(call=call, keypair=keypair("Alice"), nonce=nonce).data)
    finally:
        substrate.close()


def watch_to_in_block(client: Client, xt: str) -> str:
    client.call("author_submitAndWatchExtrinsic", [xt])
    assert client.status(10) == "ready"
    in_block = client.status(10)
    assert isinstance(in_block, dict) and "inBlock" in in_block, in_block
    return str(in_block["inBlock"])


EVENTS_KEY = "0x26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7"  # System.Events


@pytest.mark.integration
def test_devnode_holds_finalized_until_the_client_read_the_block(devnode):
    client = Client(devnode.url)
    try:
        block = watch_to_in_block(client, signed_remark(devnode.url, 0))
        with pytest.raises(TimeoutError):  # finality came 0.1 s after import; the notification waits
            client.status(0.5)
        assert client.call("chain_getFinalizedHead", []) == block  # the block itself is final
        client.call("chain_getBlock", [block])
        client.call("state_getStorage", [EVENTS_KEY, block])
        start = time.monotonic()
        assert client.status(HOLD_BOUND) == {"finalized": block}
        assert time.monotonic() - start < HOLD_BOUND / 2
    finally:
        client.ws.close()


@pytest.mark.integration
def test_devnode_sends_finalized_after_the_bound_to_a_client_that_does_not_read(devnode):
    client = Client(devnode.url)
    try:
        block = watch_to_in_block(client, signed_remark(devnode.url, 0))
        start = time.monotonic()
        assert client.status(HOLD_BOUND + 5) == {"finalized": block}
        assert time.monotonic() - start >= HOLD_BOUND - 0.2  # counted from finality, 0.1 s after inBlock
        block = watch_to_in_block(client, signed_remark(devnode.url, 1))
        start = time.monotonic()
        assert client.status(HOLD_BOUND) == {"finalized": block}  # this connection is not held again
        assert time.monotonic() - start < HOLD_BOUND / 2
    finally:
        client.ws.close()
