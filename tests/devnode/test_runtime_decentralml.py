"""DecentralMLModule through signed blocks: lifecycles, payments from escrow, expiry, errors by name."""

from __future__ import annotations

import pytest
from substrateinterface import Keypair

from decentralml.devnode.runtime import Runtime
from decentralml.devnode.runtime.decentralml import escrow_account
from decentralml.devnode.runtime.testkit import (
    Chain,
    EventDecoder,
    Signer,
    asset_ref,
    create_task_args,
    id_arg,
    send_task_result_args,
    task_assets,
    validate_args,
)

UNIT = 10**12
REWARD = UNIT // 10
AUTO, MANUAL, CUSTOM = 0, 1, 2


def sr(uri: str) -> Signer:
    kp = Keypair.create_from_uri(uri)
    return Signer(kp.public_key, kp.sign)


ALICE, BOB, CHARLIE, DAVE = sr("//Alice"), sr("//Bob"), sr("//Charlie"), sr("//Dave")


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime()


@pytest.fixture(scope="module")
def decoder(runtime: Runtime) -> EventDecoder:
    return EventDecoder(runtime)


class Market:
    """Signs DecentralML calls with the right nonces and seals one block per call."""

    def __init__(self, runtime: Runtime, decoder: EventDecoder) -> None:
        self.chain = Chain(runtime)
        self.decoder = decoder
        self.nonces: dict[bytes, int] = {}

    def send(self, signer: Signer, name: str, args: bytes) -> list:
        b = self.chain.builder
        nonce = self.nonces.get(signer.account, 0)
        self.chain.produce([b.sign(signer, b.call("DecentralMLModule", name, args), nonce)])
        assert self.chain.last.rejected == []  # type: ignore[union-attr]
        self.nonces[signer.account] = nonce + 1
        return [e for e in self.decoder.decode(self.chain.last.events) if e.extrinsic_idx == 1]  # type: ignore[union-attr]

    def ok(self, signer: Signer, name: str, args: bytes) -> list[str]:
        events = self.send(signer, name, args)
        assert events[-1].name == "System.ExtrinsicSuccess", events[-1]
        return [e.name for e in events]

    def fails(self, signer: Signer, name: str, args: bytes) -> str:
        events = self.send(signer, name, args)
        assert events[-1].name == "System.ExtrinsicFailed"
        module = events[-1].attributes["dispatch_error"]["Module"]
        assert module["index"] == 5
        errors = list(self.chain.rt.index.md.pallets["DecentralMLModule"].errors)  # type: ignore[attr-defined]
        return errors[int(module["error"][2:4], 16)]

    def create(self, strategy: int, slots: int, *, expiry: int = 50, deadline: int = 10, reward: int = REWARD) -> int:
        assets = task_assets(1, asset_ref(0, b"bafybundle", b"\x01" * 32), asset_ref(2, b"s3://m/base", b"\x02" * 32))
        args = create_task_args(1, b"Train on your data", reward, slots, strategy, self.chain.number + expiry, deadline, assets)
        names = self.ok(ALICE, "create_task", args)
        assert "DecentralMLModule.TaskCreated" in names
        return self.next_task_id() - 1

    def next_task_id(self) -> int:
        from decentralml.devnode.runtime.decentralml import NEXT_TASK_ID

        return int.from_bytes(self.chain.state.get(NEXT_TASK_ID) or b"\x00" * 8, "little")

    def result(self, sid: int) -> bytes:
        return send_task_result_args(sid, asset_ref(0, b"bafyresult", b"\x03" * 32), b'{"acc": 0.9}', b"\x04" * 32)


@pytest.fixture
def market(runtime: Runtime, decoder: EventDecoder) -> Market:
    return Market(runtime, decoder)


def test_manual_accept_pays_once_and_completes(market: Market) -> None:
    task = market.create(MANUAL, 1)
    escrow = escrow_account(task)
    assert market.chain.free(escrow) == REWARD
    market.ok(BOB, "assign_task", id_arg(task))
    market.ok(BOB, "send_task_result", market.result(0))
    assert "DecentralMLModule.TaskResultValidated" in market.ok(ALICE, "validate_task_result", validate_args(0, True, 9_500))
    before = market.chain.free(BOB.account)
    names = market.ok(ALICE, "accept_task_result", id_arg(0))
    assert "DecentralMLModule.TaskCompleted" in names and "System.KilledAccount" in names
    assert market.chain.free(BOB.account) == before + REWARD
    assert market.chain.account(escrow)[2] == 0  # reaped
    assert market.fails(ALICE, "accept_task_result", id_arg(0)) == "NotAwaitingDecision"
    assert market.chain.free(BOB.account) == before + REWARD


def test_auto_accept_pays_when_the_result_arrives(market: Market) -> None:
    task = market.create(AUTO, 2)
    market.ok(BOB, "assign_task", id_arg(task))
    before = market.chain.free(BOB.account)
    names = market.send(BOB, "send_task_result", market.result(0))
    assert [n.name for n in names if n.name.startswith("DecentralML")] == [
        "DecentralMLModule.TaskResultSubmitted", "DecentralMLModule.TaskResultAccepted",
    ]  # fmt: skip
    fee = next(e for e in names if e.name == "TransactionPayment.TransactionFeePaid").attributes["actual_fee"]
    assert market.chain.free(BOB.account) == before + REWARD - fee


def test_reject_frees_the_slot_and_close_refunds(market: Market) -> None:
    task = market.create(CUSTOM, 1)
    market.ok(BOB, "assign_task", id_arg(task))
    assert market.fails(CHARLIE, "assign_task", id_arg(task)) == "NoFreeSlot"
    market.ok(BOB, "send_task_result", market.result(0))
    assert market.fails(ALICE, "close_task", id_arg(task)) == "ResultsPendingDecision"
    market.ok(ALICE, "reject_task_result", id_arg(0))
    market.ok(CHARLIE, "assign_task", id_arg(task))
    assert market.fails(ALICE, "close_task", id_arg(task)) == "AssignmentsInProgress"
    market.ok(CHARLIE, "send_task_result", market.result(1))
    market.ok(ALICE, "reject_task_result", id_arg(1))
    before = market.chain.free(ALICE.account)
    names = market.send(ALICE, "close_task", id_arg(task))
    refund = next(e for e in names if e.name == "DecentralMLModule.TaskClosed").attributes["refund"]
    fee = next(e for e in names if e.name == "TransactionPayment.TransactionFeePaid").attributes["actual_fee"]
    assert refund == REWARD and market.chain.free(ALICE.account) == before + REWARD - fee
    assert market.fails(BOB, "assign_task", id_arg(task)) == "TaskNotOpen"


def test_expiry_releases_slots_and_lets_anyone_close(market: Market) -> None:
    task = market.create(MANUAL, 2, expiry=12, deadline=2)  # created at n+1, expires at n+12
    market.ok(BOB, "assign_task", id_arg(task))
    for _ in range(3):
        market.chain.produce()
    assert market.fails(BOB, "send_task_result", market.result(0)) == "AssignmentDeadlinePassed"
    names = market.ok(CHARLIE, "assign_task", id_arg(task))
    assert names.count("DecentralMLModule.AssignmentExpired") == 1
    assert market.fails(DAVE, "close_task", id_arg(task)) == "CloseNotAllowed"
    for _ in range(3):
        market.chain.produce()
    assert market.fails(DAVE, "assign_task", id_arg(task)) == "TaskExpired"
    names = market.ok(DAVE, "close_task", id_arg(task))
    assert "DecentralMLModule.AssignmentExpired" in names and "DecentralMLModule.TaskClosed" in names
    assert market.chain.account(escrow_account(task))[2] == 0


def test_argument_checks_use_the_pallet_error_names(market: Market) -> None:
    assets = task_assets(0, asset_ref(0, b"bafy", b"\x01" * 32))
    n = market.chain.number
    assert market.fails(ALICE, "create_task", create_task_args(0, b"", REWARD, 1, 0, n + 9, 2, assets)) == "EmptyQuestion"
    assert market.fails(ALICE, "create_task", create_task_args(0, b"q", 1, 1, 0, n + 9, 2, assets)) == "RewardTooLow"
    assert market.fails(ALICE, "create_task", create_task_args(1, b"q", REWARD, 1, 0, n + 9, 2, assets)) == "AssetsMismatchTaskType"
    assert market.fails(BOB, "create_task", create_task_args(0, b"q", 10**17, 100, 0, n + 9, 2, assets)) == "InsufficientBalance"
    assert market.fails(BOB, "assign_task", id_arg(77)) == "TaskNotFound"
    assert market.fails(BOB, "validate_task_result", validate_args(5, True, 1)) == "SubmissionNotFound"


def test_weights_grow_with_argument_length(runtime: Runtime) -> None:
    from decentralml.primitives.scale import Reader, u32

    chain = Chain(runtime)
    b = chain.builder
    sizes = []
    for question in (b"q", b"q" * 500):
        assets = task_assets(0, asset_ref(0, b"bafy", b"\x01" * 32))
        call = b.call("DecentralMLModule", "create_task", create_task_args(0, question, REWARD, 1, 0, 9, 2, assets))
        r = Reader(runtime.state_call(chain.state, "TransactionPaymentCallApi_query_call_info", call + u32(len(call))))
        sizes.append(r.compact())
    # execution 250_000_000 + 3 reads x 25_000_000 + 5 writes x 100_000_000 (pallet-spec §8), then 2_000 per byte
    assert sizes == [825_000_000 + 2_000 * (1 + 4), 825_000_000 + 2_000 * (500 + 4)]


def test_every_pallet_error_is_raised_by_the_runtime(runtime: Runtime) -> None:
    """Replays pallet-spec's errors scenario and checks every error of the metadata comes out, by index."""
    import json
    from pathlib import Path

    from decentralml.devnode.runtime import DictState

    vec = json.loads((Path(__file__).resolve().parents[2] / "pallet-spec" / "vectors" / "errors.json").read_text())
    storage, _, _ = runtime.genesis()
    state = DictState(storage)
    raised = set()
    for step in vec["steps"]:
        origin = step["origin"]
        who = None if origin == "none" else bytes.fromhex(vec["accounts"][origin["signed"]]["account_id"][2:])
        out = runtime.dispatch(state, who, bytes.fromhex(step["call"]["call_hex"][2:]), step["block_number"], step["timestamp"])
        state.apply(out.changes)
        if out.error is not None and out.error[:2] == b"\x03\x05":
            raised.add(out.error[2])
    names = list(runtime.index.md.pallets["DecentralMLModule"].errors)
    assert sorted(raised) == list(range(len(names))) and len(names) == 26
