"""Raw JSON of the node-parity methods, against shapes from polkadot-sdk's RPC crates (real runtime)."""

from __future__ import annotations

import pytest
from substrateinterface import Keypair, SubstrateInterface

from decentralml.devnode.runtime.trie import trie_root
from decentralml.primitives.hashing import blake2_256
from tests.devnode.test_rpc import Client

pytestmark = pytest.mark.integration

SYSTEM_ACCOUNT = "0x26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9"


def test_payment_query_info_uses_the_nodes_field_names_and_error_codes(devnode):
    substrate = SubstrateInterface(url=devnode.url)
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": Keypair.create_from_uri("//Bob").ss58_address, "value": 10**12})
    xt = str(substrate.create_signed_extrinsic(call, Keypair.create_from_uri("//Alice")).data)
    substrate.close()
    client = Client(devnode.url)
    info = client.call("payment_queryInfo", [xt])["result"]
    # pallet-transaction-payment-rpc: RuntimeDispatchInfo is camelCase, sp_weights::Weight keeps snake_case.
    assert list(info) == ["weight", "class", "partialFee"]
    assert list(info["weight"]) == ["ref_time", "proof_size"]
    assert isinstance(info["weight"]["ref_time"], int) and info["class"] == "normal"
    assert isinstance(info["partialFee"], str) and int(info["partialFee"]) > 0
    details = client.call("payment_queryFeeDetails", [xt])["result"]
    assert set(details["inclusionFee"]) == {"baseFee", "lenFee", "adjustedWeightFee"}
    assert details["inclusionFee"]["baseFee"].startswith("0x")
    bad = client.call("payment_queryInfo", ["0x0102"])["error"]
    assert bad["code"] in (1, 2) and bad["message"].startswith("Unable to query dispatch info")


def test_read_proof_sync_spec_child_state_and_migration_status(devnode):
    client = Client(devnode.url)
    genesis = client.call("chain_getBlockHash", [0])["result"]
    state_root = client.call("chain_getHeader", [genesis])["result"]["stateRoot"]
    alice = client.call("state_getKeysPaged", [SYSTEM_ACCOUNT, 1, None, genesis])["result"][0]
    value = bytes.fromhex(client.call("state_getStorage", [alice, genesis])["result"][2:])
    proof = client.call("state_getReadProof", [[alice, "0x00ff"], genesis])["result"]
    assert proof["at"] == genesis
    nodes = [bytes.fromhex(n[2:]) for n in proof["proof"]]
    assert nodes == sorted(nodes)
    assert "0x" + blake2_256(next(n for n in nodes if "0x" + blake2_256(n).hex() == state_root)).hex() == state_root
    assert any(value in n for n in nodes)  # the 80-byte account is stored apart under LayoutV1

    spec = client.call("sync_state_genSyncSpec", [True])["result"]
    assert spec["name"] == "Development" and spec["id"] == "dev" and spec["chainType"] == "Development"
    top = spec["genesis"]["raw"]["top"]
    assert "0x" + trie_root((bytes.fromhex(k[2:]), bytes.fromhex(v[2:])) for k, v in top.items()).hex() == state_root
    assert spec["genesis"]["raw"]["childrenDefault"] == {}

    assert client.call("childstate_getKeys", ["0x3a6368696c64", "0x", genesis])["result"] == []
    assert client.call("childstate_getStorage", ["0x3a6368696c64", alice])["result"] is None
    assert client.call("childstate_getStorageEntries", ["0x3a6368696c64", [alice, alice]])["result"] == [None, None]
    status = client.call("state_trieMigrationStatus")["result"]
    assert status["topRemainingToMigrate"] == 0 and status["totalTop"] == len(top)
    assert client.call("system_localListenAddresses")["result"] == []
