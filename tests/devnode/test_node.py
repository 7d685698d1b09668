"""The node's chain mechanics (pool, sealing, history, persistence) over a small fake runtime."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from decentralml.devnode.history import StateHistory
from decentralml.devnode.node import DevNode
from decentralml.devnode.pool import PoolError
from decentralml.devnode.store import ChainStore, StoredBlock, purge
from tests.devnode.fake_runtime import FakeRuntime, make_xt


def run_with_node(node: DevNode, body):
    async def main():
        producer = asyncio.create_task(node.run())
        try:
            return await body(node)
        finally:
            node.stop()
            await producer

    return asyncio.run(main())


async def settle(node: DevNode, number: int) -> None:
    for _ in range(1000):
        if node.best_number >= number:
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"block {number} never published (best {node.best_number})")


async def settle_finalized(node: DevNode, number: int) -> None:
    for _ in range(2000):
        if node.finalized_number >= number:
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"block {number} never finalized (finalized {node.finalized_number})")


def test_history_reads_any_past_block():
    history = StateHistory()
    history.apply(0, {b"a": b"1", b"b": b"1"})
    history.apply(1, {b"a": b"2", b"c": b"1"})
    history.apply(2, {b"a": None, b"b": b"3"})
    assert [history.get(b"a", n) for n in range(3)] == [b"1", b"2", None]
    assert history.view(0).next_key(b"a") == b"b"
    assert history.view(1).next_key(b"b") == b"c"
    assert history.view(2).next_key(b"") == b"b"
    assert list(history.keys_with_prefix(b"", 1)) == [b"a", b"b", b"c"]
    assert list(history.keys_with_prefix(b"", 2, start=b"b")) == [b"c"]
    assert history.changed_between(b"a", 1, 2) == [1, 2]


def test_instant_seal_one_block_per_transaction_with_statuses():
    node = DevNode(FakeRuntime())
    node.start()
    seen: list[object] = []

    async def body(node: DevNode):
        tx_hash, status = node.submit(make_xt(1, 0, b"x"))
        node.watch(tx_hash, seen.append)
        node.submit(make_xt(2, 0))
        await settle(node, 2)
        in_block = list(seen)
        await settle_finalized(node, 2)
        return status, in_block

    status, in_block = run_with_node(node, body)
    assert status == "ready"
    first = node.block(1)
    assert first is not None and first.extrinsics[1] == make_xt(1, 0, b"x")
    # inBlock first, finalized only after the finality delay, as GRANDPA trails block import on a node.
    assert in_block == [{"inBlock": "0x" + first.hash.hex()}]
    assert seen == [{"inBlock": "0x" + first.hash.hex()}, {"finalized": "0x" + first.hash.hex()}]
    assert node.view(1).get(b"payload:\x01") == b"x"
    assert node.view(0).get(b"payload:\x01") is None


def test_future_nonce_waits_then_follows_its_predecessor():
    node = DevNode(FakeRuntime())
    node.start()

    async def body(node: DevNode):
        _, later = node.submit(make_xt(1, 1, b"second"))
        assert node.best_number == 0
        _, first = node.submit(make_xt(1, 0, b"first"))
        await settle(node, 2)
        return later, first

    assert run_with_node(node, body) == ("future", "ready")
    assert node.view(2).get(b"nonce:\x01") == (2).to_bytes(4, "little")
    assert node.view(1).get(b"payload:\x01") == b"first"


def test_duplicates_and_refusals_get_real_node_codes():
    node = DevNode(FakeRuntime())
    node.start()

    async def body(node: DevNode):
        xt = make_xt(1, 0)
        node.submit(xt)
        with pytest.raises(PoolError, match="Already Imported") as in_pool:
            node.submit(xt)
        await settle(node, 1)
        with pytest.raises(PoolError, match="temporarily banned") as banned:
            node.submit(xt)
        with pytest.raises(PoolError, match="outdated") as stale:
            node.submit(make_xt(1, 0, b"other"))
        with pytest.raises(PoolError, match="bad signature") as bad:
            node.submit(make_xt(3, 0, b"bad"))
        with pytest.raises(PoolError, match="Not enough data") as truncated:
            node.submit(make_xt(3, 0)[:-2])
        return in_pool.value, banned.value, stale.value, bad.value, truncated.value

    in_pool, banned, stale, bad, truncated = run_with_node(node, body)
    assert in_pool.code == 1013
    assert (banned.code, banned.message) == (1012, "Transaction is temporarily banned")
    assert (stale.code, stale.data) == (1010, "Transaction is outdated")
    assert (bad.code, bad.data) == (1010, "Transaction has a bad signature")
    assert truncated.code == -32000


def test_empty_blocks_on_request_and_interval_mode():
    node = DevNode(FakeRuntime(), block_time=0.02)
    node.start()

    async def body(node: DevNode):
        blocks = await node.new_blocks(5)
        node.submit(make_xt(1, 0))
        node.submit(make_xt(2, 0))
        start = node.best_number
        await settle(node, start + 1)
        return blocks

    blocks = run_with_node(node, body)
    assert [b.number for b in blocks][-1] - blocks[0].number == 4
    with_txs = [node.block(n) for n in range(1, node.best_number + 1)]
    assert any(len(b.extrinsics) == 3 for b in with_txs if b is not None)


def test_restart_resumes_the_chain(tmp_path: Path):
    store = ChainStore.open(tmp_path)
    node = DevNode(FakeRuntime(), store)
    node.start()

    async def body(node: DevNode):
        node.submit(make_xt(1, 0, b"kept"))
        await node.new_blocks(3)

    run_with_node(node, body)
    best = node.best
    store.close()

    store = ChainStore.open(tmp_path)
    again = DevNode(FakeRuntime(), store)
    again.start()
    assert again.best == best
    assert again.view(1).get(b"payload:\x01") == b"kept"
    store.close()
    assert purge(tmp_path) is True
    assert purge(tmp_path) is False


def test_interval_block_keeps_refused_for_later_transactions_in_the_pool():
    node = DevNode(FakeRuntime(), block_time=3600)
    node.start()
    # out of order in one block: nonce 1 is refused as future at building, then comes back ready.
    node.pool.import_entry(node._validate(make_xt(1, 1)))
    node.pool.import_entry(node._validate(make_xt(1, 0)))
    later = node.pool.remove(next(iter(node.pool.future)))
    first = node._build([later, node.pool.pop_ready()])
    assert len(first.included) == 1 and first.rejected == []
    assert [e.xt for e in node.pool.ready.values()] == [make_xt(1, 1)]


def test_a_runtime_failure_drops_the_transaction_not_the_node():
    class Exploding(FakeRuntime):
        def build_block(self, state, parent_hash, number, timestamp_ms, extrinsics):
            if any(xt.endswith(b"boom") for xt in extrinsics):
                raise RuntimeError("runtime bug")
            return super().build_block(state, parent_hash, number, timestamp_ms, extrinsics)

    node = DevNode(Exploding())
    node.start()
    seen: list[object] = []

    async def body(node: DevNode):
        tx_hash, _ = node.submit(make_xt(1, 0, b"boom"))
        node.watch(tx_hash, seen.append)
        node.submit(make_xt(2, 0, b"fine"))
        await settle(node, 2)

    run_with_node(node, body)
    assert seen == ["invalid"]
    assert node.view(2).get(b"payload:\x02") == b"fine"


@pytest.mark.parametrize("delay", [0.0, 0.05])
def test_instant_seal_finalizes_every_block_after_the_delay(delay):
    node = DevNode(FakeRuntime(), finality_delay=delay)
    node.start()
    finalized: list[int] = []
    node.add_finality_listener(lambda blocks: finalized.extend(b.number for b in blocks))

    async def body(node: DevNode):
        for sender in (1, 2, 3):
            node.submit(make_xt(sender, 0))
        await settle(node, 3)
        before = node.finalized_number
        await settle_finalized(node, 3)
        return before

    before = run_with_node(node, body)
    assert before == (3 if delay == 0 else 0)
    assert finalized == [1, 2, 3]  # each block once, in order
    assert node.finalized.number == 3


@pytest.mark.parametrize("lag", [0, 1, 2])
def test_interval_mode_finality_trails_the_best_block_by_the_lag(lag):
    node = DevNode(FakeRuntime(), block_time=0.01, finality_lag=lag)
    node.start()
    seen: list[object] = []
    gaps: list[tuple[int, int]] = []
    node.add_block_listener(lambda block, changes: gaps.append((block.number, block.number - node.finalized_number)))

    async def body(node: DevNode):
        tx_hash, _ = node.submit(make_xt(1, 0))
        node.watch(tx_hash, seen.append)
        await settle(node, 5)
        return node.best_number

    run_with_node(node, body)
    # A new best block is announced before finality moves: the gap is lag + 1 at that moment.
    assert all(gap == min(lag + 1, number) for number, gap in gaps), gaps
    assert node.best_number - node.finalized_number == lag
    included = next(n for n in range(1, node.best_number + 1) if len(node.block(n).extrinsics) == 2)
    block_hex = "0x" + node.block(included).hash.hex()
    assert seen == [{"inBlock": block_hex}, {"finalized": block_hex}]


def test_negative_finality_settings_are_refused():
    with pytest.raises(ValueError, match="must not be negative"):
        DevNode(FakeRuntime(), finality_lag=-1)
    with pytest.raises(ValueError, match="must not be negative"):
        DevNode(FakeRuntime(), finality_delay=-0.1)


class _HeldStore:
    """Fault injection: the store's commits wait until released (a slow disk), the first one noted."""

    def __init__(self, store: ChainStore) -> None:
        self.store = store
        self.entered = threading.Event()
        self.release = threading.Event()
        self.first: list[StoredBlock] = []
        self._append = store.append
        store.append = self.append  # type: ignore[method-assign]

    def append(self, blocks, **kwargs) -> None:
        if not self.entered.is_set():
            self.first = list(blocks)
            self.entered.set()
        if not self.release.wait(30):
            raise AssertionError("commit never released")
        self._append(blocks, **kwargs)


def test_a_transaction_stays_in_the_pool_until_its_block_is_imported(tmp_path: Path):
    store = ChainStore.open(tmp_path)
    node = DevNode(FakeRuntime(), store)
    node.start()
    held = _HeldStore(store)
    xt = make_xt(1, 0, b"held")

    async def body(node: DevNode):
        node.submit(xt)
        try:
            await asyncio.to_thread(held.entered.wait, 30)
            # In a block being committed: still pending, and a re-submission is already imported (1013).
            assert node.best_number == 0 and [xt in (b.extrinsics or ()) for b in held.first] == [True]
            assert node.pool.pending() == [xt]
            with pytest.raises(PoolError) as again:
                node.submit(xt)
            assert again.value.code == 1013
        finally:
            held.release.set()
        await settle(node, 1)
        assert node.pool.pending() == []
        with pytest.raises(PoolError) as banned:
            node.submit(xt)
        assert banned.value.code == 1012

    run_with_node(node, body)
    store.close()
