"""The new JSON-RPC interface (chainHead_v1, transaction_v1, transactionWatch_v1, chainSpec_v1) on the real runtime.

Expected shapes are those of polkadot-sdk's sc-rpc-spec-v2 (its serde tests) and
the JSON-RPC interface spec.
"""

from __future__ import annotations

import pytest
from substrateinterface import Keypair, SubstrateInterface

from decentralml.devnode.runtime.trie import _build, closest_descendant_merkle_value, trie_root
from decentralml.primitives.hashing import blake2_256
from tests.devnode.test_rpc import Client
from tests.fixtures.devnode import start_devnode

pytestmark = pytest.mark.integration

SYSTEM_ACCOUNT = "0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9"


def follow_events(client: Client, sub: str, until: str) -> list[dict]:
    events = []
    while True:
        event = client.notification(sub)
        events.append(event)
        if event["event"] == until:
            return events


def signed_transfer(url: str, nonce: int | None = None) -> str:
    substrate = SubstrateInterface(url=url)
    try:
        call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": Keypair.create_from_uri("//Bob").ss58_address, "value": 10**12})
        xt = substrate.create_signed_extrinsic(call, Keypair.create_from_uri("//Alice"), nonce=nonce)
        return str(xt.data)
    finally:
        substrate.close()


def test_follow_reports_the_chain_and_serves_header_body_call_storage(devnode):
    client = Client(devnode.url)
    genesis = client.call("chain_getBlockHash", [0])["result"]
    assert client.call("chainSpec_v1_genesisHash")["result"] == genesis
    assert client.call("chainSpec_v1_chainName")["result"] == "Development"
    assert client.call("chainSpec_v1_properties")["result"]["ss58Format"] == 42
    sub = client.call("chainHead_v1_follow", [True])["result"]
    initialized = client.notification(sub)
    assert initialized["event"] == "initialized"
    assert initialized["finalizedBlockHashes"] == [client.call("chain_getFinalizedHead")["result"]]
    spec = initialized["finalizedBlockRuntime"]["spec"]
    assert initialized["finalizedBlockRuntime"]["type"] == "valid"
    assert spec["specName"] == "decentralml" and spec["apis"]["0xdf6acb689907609b"] == 5
    assert list(spec) == ["specName", "implName", "authoringVersion", "specVersion", "implVersion", "apis", "transactionVersion", "stateVersion"]
    best = client.notification(sub)
    assert best == {"event": "bestBlockChanged", "bestBlockHash": genesis}

    header = client.call("chainHead_v1_header", [sub, genesis])["result"]
    assert "0x" + blake2_256(bytes.fromhex(header[2:])).hex() == genesis
    started = client.call("chainHead_v1_body", [sub, genesis])["result"]
    assert started["result"] == "started"
    assert client.notification(sub) == {"event": "operationBodyDone", "operationId": started["operationId"], "value": []}

    started = client.call("chainHead_v1_call", [sub, genesis, "Core_version", "0x"])["result"]
    done = client.notification(sub)
    assert done["event"] == "operationCallDone" and done["operationId"] == started["operationId"]
    assert done["output"] == client.call("state_call", ["Core_version", "0x", genesis])["result"]
    started = client.call("chainHead_v1_call", [sub, genesis, "No_such_api", "0x"])["result"]
    assert client.notification(sub)["event"] == "operationError"

    # value, hash and descendants (paged: 5 per step, then waitingForContinue until chainHead_v1_continue)
    alice = client.call("state_getKeysPaged", [SYSTEM_ACCOUNT, 1, None, genesis])["result"][0]
    value = client.call("state_getStorage", [alice, genesis])["result"]
    started = client.call(
        "chainHead_v1_storage",
        [sub, genesis, [{"key": alice, "type": "value"}, {"key": alice, "type": "hash"}, {"key": "0x00ff", "type": "value"}], None],
    )["result"]
    assert started["discardedItems"] == 0
    items = client.notification(sub)
    assert items == {
        "event": "operationStorageItems",
        "operationId": started["operationId"],
        "items": [{"key": alice, "value": value}, {"key": alice, "hash": "0x" + blake2_256(bytes.fromhex(value[2:])).hex()}],
    }
    assert client.notification(sub) == {"event": "operationStorageDone", "operationId": started["operationId"]}

    accounts = client.call("state_getKeys", [SYSTEM_ACCOUNT, genesis])["result"]
    assert len(accounts) > 5
    started = client.call("chainHead_v1_storage", [sub, genesis, [{"key": SYSTEM_ACCOUNT, "type": "descendantsValues"}], None])["result"]
    op = started["operationId"]
    seen: list[str] = []
    while True:
        event = client.notification(sub)
        if event["event"] == "operationStorageItems":
            assert len(event["items"]) <= 5
            seen.extend(item["key"] for item in event["items"])
        elif event["event"] == "operationWaitingForContinue":
            assert client.call("chainHead_v1_continue", [sub, op])["result"] is None
            assert client.call("chainHead_v1_continue", [sub, op])["error"]["code"] == -32803  # not waiting any more
        else:
            assert event == {"event": "operationStorageDone", "operationId": op}
            break
    assert seen == accounts

    # unknown block, unpin rules, stale subscription
    assert client.call("chainHead_v1_header", [sub, "0x" + "11" * 32])["error"]["code"] == -32801
    assert client.call("chainHead_v1_unpin", [sub, [genesis, genesis]])["error"]["code"] == -32804
    assert client.call("chainHead_v1_unpin", [sub, genesis])["result"] is None
    assert client.call("chainHead_v1_header", [sub, genesis])["error"]["code"] == -32801
    assert client.call("chainHead_v1_header", ["nope", genesis])["result"] is None
    assert client.call("chainHead_v1_body", ["nope", genesis])["result"] == {"result": "limitReached"}
    assert client.call("chainHead_v1_unfollow", [sub])["result"] is None
    methods = client.call("rpc_methods")["result"]["methods"]
    for name in ("chainHead_v1_follow", "chainHead_v1_storage", "transaction_v1_broadcast", "transactionWatch_v1_submitAndWatch", "chainSpec_v1_genesisHash"):
        assert name in methods


def test_closest_descendant_merkle_value_is_the_node_in_the_state_trie(devnode, monkeypatch):
    client = Client(devnode.url)
    genesis = client.call("chain_getBlockHash", [0])["result"]
    keys = client.call("state_getKeys", ["0x", genesis])["result"]
    items = [(bytes.fromhex(k[2:]), bytes.fromhex(client.call("state_getStorage", [k, genesis])["result"][2:])) for k in keys]
    sub = client.call("chainHead_v1_follow", [False])["result"]
    follow_events(client, sub, "bestBlockChanged")
    started = client.call(
        "chainHead_v1_storage",
        [sub, genesis, [{"key": "0x", "type": "closestDescendantMerkleValue"}, {"key": SYSTEM_ACCOUNT, "type": "closestDescendantMerkleValue"}], None],
    )["result"]
    assert started["result"] == "started"
    got = client.notification(sub)["items"]
    header_root = client.call("chain_getHeader", [genesis])["result"]["stateRoot"]
    assert got[0] == {"key": "0x", "closestDescendantMerkleValue": header_root}
    # The System.Account subtree's node is one of the nodes the full trie is built from.
    nodes: list[bytes] = []
    from decentralml.devnode.runtime import trie

    def recording(*args):
        encoded = _build(*args)
        nodes.append(encoded)
        return encoded

    monkeypatch.setattr(trie, "_build", recording)
    assert "0x" + trie_root(items).hex() == header_root
    merkle = bytes.fromhex(got[1]["closestDescendantMerkleValue"][2:])
    assert merkle in {blake2_256(n) if len(n) >= 32 else n for n in nodes}
    assert closest_descendant_merkle_value(items, b"\xfe\xfe\xfe") is None


def test_chain_head_follow_announces_new_and_finalized_blocks_and_tx_watch_events(devnode):
    client = Client(devnode.url)
    sub = client.call("chainHead_v1_follow", [True])["result"]
    follow_events(client, sub, "bestBlockChanged")
    xt = signed_transfer(devnode.url)
    watch = client.call("transactionWatch_v1_submitAndWatch", [xt])["result"]
    assert client.notification(watch) == {"event": "validated"}
    included = client.notification(watch)
    assert included["event"] == "bestChainBlockIncluded" and included["block"]["index"] == 1
    final = client.notification(watch)
    assert final == {"event": "finalized", "block": included["block"]}
    new_block = client.notification(sub)
    assert new_block["event"] == "newBlock" and new_block["blockHash"] == included["block"]["hash"] and new_block["newRuntime"] is None
    assert client.notification(sub) == {"event": "bestBlockChanged", "bestBlockHash": included["block"]["hash"]}
    assert client.notification(sub) == {"event": "finalized", "finalizedBlockHashes": [included["block"]["hash"]], "prunedBlockHashes": []}
    started = client.call("chainHead_v1_body", [sub, included["block"]["hash"]])["result"]
    body = client.notification(sub)
    assert body["operationId"] == started["operationId"] and body["value"][1] == xt

    # An invalid transaction: the subscription answers, then reports it invalid.
    bad = client.call("transactionWatch_v1_submitAndWatch", [xt])["result"]
    assert client.notification(bad)["event"] == "dropped"  # already included: temporarily banned
    garbage = client.call("transactionWatch_v1_submitAndWatch", ["0x0400"])["result"]
    assert client.notification(garbage)["event"] == "invalid"
    assert client.call("transactionWatch_v1_unwatch", [garbage])["result"] is None

    # broadcast: an operation id, the transaction lands in a block; stop of an unknown id is -32602
    op = client.call("transaction_v1_broadcast", [signed_transfer(devnode.url)])["result"]
    assert isinstance(op, str)
    new_block = client.notification(sub)
    assert new_block["event"] == "newBlock"
    assert client.call("transaction_v1_stop", ["nope"])["error"]["code"] == -32602


def test_follow_subscriptions_per_connection_are_limited(devnode):
    client = Client(devnode.url)
    subs = [client.call("chainHead_v1_follow", [False])["result"] for _ in range(4)]
    assert client.call("chainHead_v1_follow", [False])["error"]["code"] == -32800
    client.call("chainHead_v1_unfollow", [subs[0]])
    assert isinstance(client.call("chainHead_v1_follow", [False])["result"], str)
    # Over HTTP there are no subscriptions.
    with pytest.raises(RuntimeError, match="-32603"):
        devnode.rpc("chainHead_v1_follow", [True])


SYSTEM_NUMBER = "0x26aa394eea5630e07c48ae0c9558cef702a5c1b19ab7a04f536c519aca4983ac"


def discarded(client: Client, block: str) -> bool:
    reply = client.call("state_getStorage", [SYSTEM_NUMBER, block])
    if "error" in reply:
        assert reply["error"] == {"code": 4003, "message": f"Client error: UnknownBlock: State already discarded for {block}"}
        return True
    return False


def new_blocks(client: Client, sub: str, count: int) -> list[str]:
    hashes: list[str] = []
    while len(hashes) < count:
        event = client.notification(sub)
        if event["event"] == "newBlock":
            hashes.append(event["blockHash"])
    return hashes


def test_pinned_blocks_stay_readable_past_pruning_until_unpinned(tmp_path):
    node = start_devnode(tmp_path / "chain", "--state-pruning", "2", "--blocks-pruning", "2", "--finality-delay", "0")
    try:
        client, other = Client(node.url), Client(node.url)
        sub = client.call("chainHead_v1_follow", [True])["result"]
        genesis = follow_events(client, sub, "bestBlockChanged")[0]["finalizedBlockHashes"][0]
        assert client.call("chainHead_v1_unpin", [sub, genesis])["result"] is None
        assert client.call("author_submitExtrinsic", [signed_transfer(node.url)])["result"]
        pinned = follow_events(client, sub, "newBlock")[-1]["blockHash"]  # block 1, with the transfer
        header = client.call("chainHead_v1_header", [sub, pinned])["result"]
        assert client.call("dev_newBlocks", [12])["result"]["count"] == 12
        announced = new_blocks(client, sub, 12)
        # Block 1 is 12 blocks behind the finalized head, beyond --state-pruning 2 and --blocks-pruning 2,
        # and genesis (unpinned) is gone; block 1 is pinned and stays whole.
        assert discarded(other, genesis)
        assert not discarded(other, pinned)
        assert client.call("chainHead_v1_header", [sub, pinned])["result"] == header
        started = client.call("chainHead_v1_body", [sub, pinned])["result"]
        body = follow_events(client, sub, "operationBodyDone")[-1]
        assert body["operationId"] == started["operationId"] and len(body["value"]) == 2  # timestamp + transfer
        assert other.call("chain_getBlock", [pinned])["result"]["block"]["extrinsics"] == body["value"]
        client.call("chainHead_v1_storage", [sub, pinned, [{"key": SYSTEM_NUMBER, "type": "value"}], None])
        items = follow_events(client, sub, "operationStorageItems")[-1]["items"]
        assert items == [{"key": SYSTEM_NUMBER, "value": "0x01000000"}]
        client.call("chainHead_v1_call", [sub, pinned, "Core_version", "0x"])
        assert follow_events(client, sub, "operationCallDone")[-1]["output"].startswith("0x")
        # Unpinned, it is pruned with the next finalized block, as any other.
        assert client.call("chainHead_v1_unpin", [sub, [pinned, *announced]])["result"] is None
        assert not discarded(other, pinned)  # nothing finalized since
        client.call("dev_newBlocks", [1])
        assert discarded(other, pinned)
        assert other.call("chain_getBlock", [pinned])["result"] is None
        # A follow subscription's pins go with it, and with its connection.
        assert client.call("chainHead_v1_unfollow", [sub])["result"] is None
        watcher = Client(node.url)
        sub = watcher.call("chainHead_v1_follow", [False])["result"]
        head = follow_events(watcher, sub, "bestBlockChanged")[0]["finalizedBlockHashes"][0]
        other.call("dev_newBlocks", [5])
        assert not discarded(other, head)
        watcher.ws.close()
        other.call("system_chain")  # the node has seen the close
        other.call("dev_newBlocks", [1])
        assert discarded(other, head)
    finally:
        node.stop()


def test_pins_past_the_node_limit_stop_the_subscriptions_holding_old_blocks_first(monkeypatch):
    # sc-rpc-spec-v2's rule, with a limit of 6 distinct pinned blocks across the node instead of 512.
    from decentralml.devnode import spec_v2
    from decentralml.devnode.limits import RpcLimits
    from tests.devnode.test_rpc import running_node

    clock = [1000.0]
    monkeypatch.setattr(spec_v2, "MAX_PINNED_BLOCKS", 6)
    monkeypatch.setattr(spec_v2, "monotonic", lambda: clock[0])
    with running_node(RpcLimits(unsafe_methods=True)) as (node, url):
        node.finality_delay = 0  # each block finalized as it is imported: a follow announces just the new one
        hoarder, tidy = Client(url), Client(url)
        hoarder_sub = hoarder.call("chainHead_v1_follow", [False])["result"]
        follow_events(hoarder, hoarder_sub, "bestBlockChanged")
        tidy_sub = tidy.call("chainHead_v1_follow", [False])["result"]
        genesis = follow_events(tidy, tidy_sub, "bestBlockChanged")[0]["finalizedBlockHashes"][0]
        assert tidy.call("chainHead_v1_unpin", [tidy_sub, genesis])["result"] is None

        def one_block() -> str:  # the tidy client unpins each block once announced
            tidy.call("dev_newBlocks", [1])
            block = new_blocks(tidy, tidy_sub, 1)[0]
            assert tidy.call("chainHead_v1_unpin", [tidy_sub, block])["result"] is None
            return block

        clock[0] += 61  # the hoarder's genesis pin is now older than MAX_PIN_SECONDS
        for _ in range(5):
            one_block()
        assert node.pinned_blocks == 6  # the hoarder's: blocks 0..5
        one_block()  # block 6 needs room: the subscription holding an old pin is stopped, not the tidy one
        assert follow_events(hoarder, hoarder_sub, "stop")[-1] == {"event": "stop"}
        assert node.pinned_blocks == 0
        assert hoarder.call("chainHead_v1_header", [hoarder_sub, genesis])["result"] is None  # gone

        # When no subscription holds a pin that long, every one is stopped.
        greedy = Client(url)
        greedy_sub = greedy.call("chainHead_v1_follow", [False])["result"]
        follow_events(greedy, greedy_sub, "bestBlockChanged")
        for _ in range(5):
            one_block()
        assert node.pinned_blocks == 6
        tidy.call("dev_newBlocks", [1])
        assert follow_events(greedy, greedy_sub, "stop")[-1] == {"event": "stop"}
        assert follow_events(tidy, tidy_sub, "stop")[-1] == {"event": "stop"}
        assert node.pinned_blocks == 0
        assert isinstance(tidy.call("chainHead_v1_follow", [False])["result"], str)  # a new one may start
