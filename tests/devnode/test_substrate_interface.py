"""Unmodified substrate-interface 1.8.1 against a chain: transfers and the whole DecentralML lifecycle.

The tests taking ``chain`` run against the dev node and against chopsticks running the
runtime's WebAssembly blob (tests/fixtures/chains.py): both chains must answer alike."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import pytest
from substrateinterface.exceptions import SubstrateRequestException

from decentralml.chain.errors import rpc_transaction_error
from tests.devnode.sichain import (
    PALLET,
    UNIT,
    asset,
    best_number,
    connect,
    create_task_params,
    event,
    events,
    free,
    keypair,
    submit,
)

pytestmark = pytest.mark.integration


def test_connects_reads_chain_and_metadata(chain):
    substrate = connect(chain.url)
    # A node answers system_chain with the chain spec's name; chopsticks with its id.
    assert substrate.chain == ("dev" if chain.kind == "chopsticks" else "Development")
    assert substrate.ss58_format == 42
    assert substrate.token_decimals == 12 and substrate.token_symbol == "UNIT"
    substrate.init_runtime()
    assert substrate.runtime_version == 100
    assert substrate.metadata.get_metadata_pallet(PALLET) is not None
    assert substrate.get_block_number(substrate.get_block_hash(0)) == 0
    assert substrate.get_constant("System", "SS58Prefix").value == 42
    substrate.close()
    if chain.http_url is None:
        return  # chopsticks serves JSON-RPC over WebSocket only
    over_http = connect(chain.http_url)  # the same port answers JSON-RPC over HTTP POST
    assert over_http.query("System", "Account", [keypair("Alice").ss58_address]).value["data"]["free"] == 1 << 60


def test_transfer_receipt_fee_and_balances(chain):
    substrate = connect(chain.url)
    alice, eve = keypair("Alice"), keypair("Eve")
    alice_before, eve_before = free(substrate, alice), free(substrate, eve)
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": eve.ss58_address, "value": 3 * UNIT})
    estimate = substrate.get_payment_info(call, alice)
    receipt = submit(substrate, alice, "Balances", "transfer_keep_alive", {"dest": eve.ss58_address, "value": 3 * UNIT})
    assert receipt.is_success, receipt.error_message
    fee = receipt.total_fee_amount
    assert fee > 0 and fee == estimate["partialFee"]
    assert receipt.weight["ref_time"] > 0
    names = [(e.module, e.name) for e in events(receipt)]
    assert ("Balances", "Transfer") in names and ("System", "ExtrinsicSuccess") in names
    assert ("TransactionPayment", "TransactionFeePaid") in names
    assert free(substrate, alice) == alice_before - 3 * UNIT - fee
    assert free(substrate, eve) == eve_before + 3 * UNIT
    block = substrate.get_block(receipt.block_hash)
    assert block["extrinsics"][0].value["call"]["call_module"] == "Timestamp"
    assert substrate.get_account_nonce(alice.ss58_address) == 1
    substrate.close()


def test_decentralml_lifecycle_with_payment_rejection_close_and_expiry(chain):
    substrate = connect(chain.url)
    alice, bob, charlie, dave = (keypair(n) for n in ("Alice", "Bob", "Charlie", "Dave"))
    pays = 2 * UNIT
    now = best_number(substrate)

    # create: the escrow (pays x slots) leaves Alice with the fee.
    alice_before = free(substrate, alice)
    created = submit(substrate, alice, PALLET, "create_task", create_task_params(pays=pays, slots=2, expiration_block=now + 40))
    assert created.is_success, created.error_message
    task = event(created, PALLET, "TaskCreated")
    task_id = task["task_id"]
    assert task["escrow"] == 2 * pays and task["max_assignments"] == 2
    assert free(substrate, alice) == alice_before - 2 * pays - created.total_fee_amount
    stored = substrate.query(PALLET, "Tasks", [task_id]).value
    assert stored["status"] == "Open" and stored["pays_amount"] == pays

    # assign -> send result -> validate -> accept: Bob is paid exactly once.
    assigned = submit(substrate, bob, PALLET, "assign_task", {"task_id": task_id})
    assert assigned.is_success, assigned.error_message
    sid = event(assigned, PALLET, "TaskAssigned")["submission_id"]
    sent = submit(
        substrate, bob, PALLET, "send_task_result",
        {"submission_id": sid, "result": asset("ipfs://bafy-result-bob", "cd"), "inline_result": '{"accuracy": 0.91}', "lineage_digest": None},
    )
    assert sent.is_success, sent.error_message
    assert event(sent, PALLET, "TaskResultSubmitted")["submission_id"] == sid
    validated = submit(substrate, alice, PALLET, "validate_task_result", {"submission_id": sid, "passed": True, "score": 9100})
    assert validated.is_success, validated.error_message
    assert event(validated, PALLET, "TaskResultValidated")["score"] == 9100
    bob_before = free(substrate, bob)
    accepted = submit(substrate, alice, PALLET, "accept_task_result", {"submission_id": sid})
    assert accepted.is_success, accepted.error_message
    assert event(accepted, PALLET, "TaskResultAccepted")["reward"] == pays
    assert free(substrate, bob) == bob_before + pays
    again = submit(substrate, alice, PALLET, "accept_task_result", {"submission_id": sid})
    assert not again.is_success
    assert again.error_message["name"] == "NotAwaitingDecision"
    assert free(substrate, bob) == bob_before + pays

    # a pallet error carries the error's name and doc string from the metadata.
    not_creator = submit(substrate, bob, PALLET, "close_task", {"task_id": task_id})
    assert not not_creator.is_success
    assert not_creator.error_message["name"] == "CloseNotAllowed"
    assert "wait for expiry" in " ".join(not_creator.error_message["docs"])

    # reject and re-assign: Charlie's rejected slot is freed, he can take it again.
    charlie_sid = event(submit(substrate, charlie, PALLET, "assign_task", {"task_id": task_id}), PALLET, "TaskAssigned")["submission_id"]
    submit(substrate, charlie, PALLET, "send_task_result", {"submission_id": charlie_sid, "result": asset("ipfs://bafy-charlie"), "inline_result": None, "lineage_digest": None})
    rejected = submit(substrate, alice, PALLET, "reject_task_result", {"submission_id": charlie_sid})
    assert rejected.is_success, rejected.error_message
    assert event(rejected, PALLET, "TaskResultRejected")["submission_id"] == charlie_sid
    reassigned = submit(substrate, charlie, PALLET, "assign_task", {"task_id": task_id})
    assert reassigned.is_success, reassigned.error_message
    assert event(reassigned, PALLET, "TaskAssigned")["submission_id"] != charlie_sid
    busy = submit(substrate, alice, PALLET, "close_task", {"task_id": task_id})
    assert busy.error_message["name"] == "AssignmentsInProgress"

    # expiry via empty blocks: anyone may close, the unspent escrow goes back to Alice.
    chain.new_blocks(45)
    assert best_number(substrate) > now + 40
    late = submit(substrate, dave, PALLET, "assign_task", {"task_id": task_id})
    assert late.error_message["name"] == "TaskExpired"
    alice_before_close = free(substrate, alice)
    closed = submit(substrate, dave, PALLET, "close_task", {"task_id": task_id})
    assert closed.is_success, closed.error_message
    assert event(closed, PALLET, "TaskClosed")["refund"] == pays
    assert free(substrate, alice) == alice_before_close + pays
    assert substrate.query(PALLET, "Tasks", [task_id]).value["status"] == "Closed"
    submissions = {int(k.value): v.value for k, v in substrate.query_map(PALLET, "Submissions")}
    assert submissions[sid]["status"] == "Accepted" and submissions[sid]["paid"] == pays
    assert submissions[charlie_sid]["status"] == "Rejected"
    substrate.close()


def test_auto_accept_pays_on_submission(chain):
    substrate = connect(chain.url)
    alice, ferdie = keypair("Alice"), keypair("Ferdie")
    now = best_number(substrate)
    params = create_task_params(pays=UNIT, slots=1, expiration_block=now + 30, strategy="AutoAccept")
    task_id = event(submit(substrate, alice, PALLET, "create_task", params), PALLET, "TaskCreated")["task_id"]
    sid = event(submit(substrate, ferdie, PALLET, "assign_task", {"task_id": task_id}), PALLET, "TaskAssigned")["submission_id"]
    before = free(substrate, ferdie)
    sent = submit(substrate, ferdie, PALLET, "send_task_result", {"submission_id": sid, "result": asset("ipfs://r"), "inline_result": None, "lineage_digest": "0x" + "ee" * 32})
    assert sent.is_success, sent.error_message
    names = [e.name for e in events(sent) if e.module == PALLET]
    assert "TaskResultAccepted" in names and "TaskCompleted" in names
    assert free(substrate, ferdie) == before + UNIT - sent.total_fee_amount
    assert substrate.query(PALLET, "Tasks", [task_id]).value["status"] == "Completed"

    # the creator closes an open task before its expiry: the whole unspent escrow comes back.
    params = create_task_params(pays=UNIT, slots=3, expiration_block=now + 30)
    open_task = event(submit(substrate, alice, PALLET, "create_task", params), PALLET, "TaskCreated")["task_id"]
    alice_before = free(substrate, alice)
    closed = submit(substrate, alice, PALLET, "close_task", {"task_id": open_task})
    assert closed.is_success, closed.error_message
    assert event(closed, PALLET, "TaskClosed")["refund"] == 3 * UNIT
    assert free(substrate, alice) == alice_before + 3 * UNIT - closed.total_fee_amount
    assert substrate.query(PALLET, "Tasks", [open_task]).value["status"] == "Closed"
    substrate.close()


def test_interval_mode_seals_on_the_clock(tmp_path):
    """The dev node's --block-time mode (chopsticks has its own block modes: not a node's behaviour to compare)."""
    from tests.fixtures.devnode import start_devnode

    node = start_devnode(tmp_path / "interval", "--block-time", "0.2")
    try:
        substrate = connect(node.url)
        alice, bob = keypair("Alice"), keypair("Bob")
        receipt = submit(substrate, alice, "Balances", "transfer_keep_alive", {"dest": bob.ss58_address, "value": UNIT})
        assert receipt.is_success
        number = substrate.get_block_number(receipt.block_hash)
        for _ in range(100):  # empty blocks keep coming without transactions
            if best_number(substrate) >= number + 2:
                break
            time.sleep(0.1)
        assert best_number(substrate) >= number + 2
        substrate.close()
    finally:
        node.stop()


def test_mortal_eras_are_checked_like_a_node(chain):
    substrate = connect(chain.url)
    alice, bob = keypair("Alice"), keypair("Bob")
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": bob.ss58_address, "value": UNIT})
    fresh = substrate.create_signed_extrinsic(call=call, keypair=alice, era={"period": 64})
    assert substrate.submit_extrinsic(fresh, wait_for_inclusion=True, wait_for_finalization=True).is_success
    # SI takes a mortal era's birth block from the finalized head, which now is the best block.
    expired = substrate.create_signed_extrinsic(call=call, keypair=alice, era={"period": 4})
    chain.new_blocks(10)
    with pytest.raises(SubstrateRequestException) as refused:
        substrate.submit_extrinsic(expired, wait_for_inclusion=True)
    # past its death the era names another birth block: the signed payload no longer matches (BadProof).
    error = refused.value.args[0]
    assert error["code"] == 1010
    if chain.kind == "chopsticks":  # chopsticks puts the InvalidTransaction variant, as JSON, in 'message'
        assert error["message"] == '{"invalid":{"badProof":null}}'
    else:  # a node: "Invalid Transaction", the variant's text in 'data'
        assert error["data"] == "Transaction has a bad signature"
    assert "signature is invalid" in rpc_transaction_error(error).message
    substrate.close()


SIX = ("Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie")


def _six_clients_worker(url: str, name: str) -> list[bool]:
    substrate = connect(url)
    signer, dest = keypair(name), keypair(SIX[(SIX.index(name) + 1) % len(SIX)])
    try:
        return [
            submit(substrate, signer, "Balances", "transfer_keep_alive", {"dest": dest.ss58_address, "value": UNIT}).is_success
            for _ in range(4)
        ]
    finally:
        substrate.close()


def test_six_clients_submitting_at_once_all_get_included(chain):
    # One process per client: scalecodec shares decoder classes across SubstrateInterface instances,
    # so six instances in one process race while loading metadata (py-substrate-interface #246, #369).
    with ProcessPoolExecutor(max_workers=len(SIX), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {name: pool.submit(_six_clients_worker, chain.url, name) for name in SIX}
        results = {name: future.result(timeout=180) for name, future in futures.items()}
    assert results == {name: [True] * 4 for name in SIX}
    substrate = connect(chain.url)
    assert all(substrate.get_account_nonce(keypair(n).ss58_address) == 4 for n in SIX)
    substrate.close()
