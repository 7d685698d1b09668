"""Balances (existential deposit, account creation and reaping) and Sudo, through signed blocks."""

from __future__ import annotations

import pytest
from substrateinterface import Keypair

from decentralml.devnode.runtime import Runtime
from decentralml.devnode.runtime.testkit import Chain, EventDecoder, Signer

UNIT = 10**12
ED = 10**9


def sr(uri: str) -> Signer:
    kp = Keypair.create_from_uri(uri)
    return Signer(kp.public_key, kp.sign)


ALICE, BOB, CHARLIE = sr("//Alice"), sr("//Bob"), sr("//Charlie")


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime()


@pytest.fixture(scope="module")
def decoder(runtime: Runtime) -> EventDecoder:
    return EventDecoder(runtime)


@pytest.fixture
def chain(runtime: Runtime) -> Chain:
    return Chain(runtime)


def events(decoder: EventDecoder, chain: Chain, index: int = 1) -> list:
    return [e for e in decoder.decode(chain.last.events) if e.extrinsic_idx == index]  # type: ignore[union-attr]


def failure(decoder: EventDecoder, chain: Chain, index: int = 1) -> object:
    last = events(decoder, chain, index)[-1]
    assert last.name == "System.ExtrinsicFailed"
    return last.attributes["dispatch_error"]


def test_transfer_to_a_new_account_creates_it(chain: Chain, decoder: EventDecoder) -> None:
    dest = sr("//Fresh")
    b = chain.builder
    chain.produce([b.sign(ALICE, b.transfer(dest.account, 2 * ED), 0)])
    assert [e.name for e in events(decoder, chain)][:4] == [
        "Balances.Withdraw", "System.NewAccount", "Balances.Endowed", "Balances.Transfer",
    ]  # fmt: skip
    nonce, consumers, providers, sufficients, free, *_ = chain.account(dest.account)
    assert (nonce, consumers, providers, sufficients, free) == (0, 0, 1, 0, 2 * ED)


def test_transfer_below_the_existential_deposit_fails(chain: Chain, decoder: EventDecoder) -> None:
    b = chain.builder
    chain.produce([b.sign(ALICE, b.transfer(sr("//Tiny").account, ED - 1), 0)])
    assert failure(decoder, chain) == {"Token": "BelowMinimum"}
    assert chain.nonce(ALICE.account) == 1  # the fee and nonce are still taken


def test_keep_alive_refuses_to_kill_the_sender(chain: Chain, decoder: EventDecoder) -> None:
    b = chain.builder
    poorish = sr("//Poorish")
    chain.produce([b.sign(ALICE, b.transfer(poorish.account, UNIT), 0)])
    chain.produce([b.sign(poorish, b.transfer(BOB.account, chain.free(poorish.account) - 10**9 // 2, keep_alive=True), 0)])
    assert chain.last.rejected == [] and failure(decoder, chain) is not None


def test_transfer_all_reaps_the_sender(chain: Chain, decoder: EventDecoder) -> None:
    b = chain.builder
    leaver = sr("//Leaver")
    chain.produce([b.sign(ALICE, b.transfer(leaver.account, UNIT), 0)])
    chain.produce([b.sign(leaver, b.transfer_all(BOB.account, keep_alive=False), 0)])
    names = [e.name for e in events(decoder, chain)]
    assert "System.KilledAccount" in names and names[-1] == "System.ExtrinsicSuccess"
    assert chain.account(leaver.account)[4] == 0 and chain.account(leaver.account)[2] == 0


def test_sudo_force_transfer_and_require_sudo(chain: Chain, decoder: EventDecoder) -> None:
    b = chain.builder
    before = chain.free(CHARLIE.account)
    chain.produce([b.sign(ALICE, b.sudo(b.force_transfer(BOB.account, CHARLIE.account, 7 * UNIT)), 0)])
    evs = events(decoder, chain)
    assert [e.name for e in evs if e.name.startswith("Sudo")] == ["Sudo.Sudid"]
    assert next(e for e in evs if e.name == "Sudo.Sudid").attributes["sudo_result"] == {"Ok": ()}
    assert evs[-1].attributes["dispatch_info"]["pays_fee"] == "No"
    assert chain.free(CHARLIE.account) == before + 7 * UNIT
    chain.produce([b.sign(BOB, b.sudo(b.force_transfer(ALICE.account, BOB.account, UNIT)), 0)])
    assert failure(decoder, chain) == {"Module": {"index": 4, "error": "0x00000000"}}


def test_sudo_inner_failure_is_reported_in_sudid(chain: Chain, decoder: EventDecoder) -> None:
    b = chain.builder
    before = chain.free(ALICE.account)
    chain.produce([b.sign(ALICE, b.sudo(b.force_transfer(sr("//Empty").account, BOB.account, UNIT)), 0)])
    evs = events(decoder, chain)
    sudid = next(e for e in evs if e.name == "Sudo.Sudid")
    assert "Err" in sudid.attributes["sudo_result"]
    assert chain.free(ALICE.account) == before  # Pays::No: the fee was refunded
    assert "Balances.Deposit" in [e.name for e in evs]


def test_force_transfer_needs_root(chain: Chain, decoder: EventDecoder) -> None:
    b = chain.builder
    chain.produce([b.sign(ALICE, b.force_transfer(BOB.account, ALICE.account, UNIT), 0)])
    assert failure(decoder, chain) == "BadOrigin"


def test_remark_with_event(chain: Chain, decoder: EventDecoder) -> None:
    b = chain.builder
    chain.produce([b.sign(ALICE, b.remark(b"hello", with_event=True), 0)])
    assert "System.Remarked" in [e.name for e in events(decoder, chain)]


def test_sudo_set_storage_and_kill_prefix(chain: Chain) -> None:
    from decentralml.primitives.scale import compact, vec_u8

    b = chain.builder
    items = [(b":dev:a1", b"x"), (b":dev:a2", b"y"), (b":dev:b", b"z")]
    args = compact(len(items)) + b"".join(vec_u8(k) + vec_u8(v) for k, v in items)
    chain.produce([b.sign(ALICE, b.sudo(b.call("System", "set_storage", args)), 0)])
    assert chain.state.get(b":dev:a2") == b"y"
    chain.produce([b.sign(ALICE, b.sudo(b.call("System", "kill_prefix", vec_u8(b":dev:a") + (5).to_bytes(4, "little"))), 1)])
    assert chain.state.get(b":dev:a1") is None and chain.state.get(b":dev:a2") is None
    assert chain.state.get(b":dev:b") == b"z"


def test_burn_reduces_total_issuance(chain: Chain, decoder: EventDecoder) -> None:
    from decentralml.devnode.runtime.keys import BALANCES_TOTAL_ISSUANCE
    from decentralml.primitives.scale import compact

    b = chain.builder
    before = int.from_bytes(chain.state.get(BALANCES_TOTAL_ISSUANCE) or b"", "little")
    chain.produce([b.sign(BOB, b.call("Balances", "burn", compact(5 * UNIT) + b"\x01"), 0)])
    evs = events(decoder, chain)
    burned = next(e for e in evs if e.name == "Balances.Burned").attributes["amount"]
    fee = next(e for e in evs if e.name == "TransactionPayment.TransactionFeePaid").attributes["actual_fee"]
    assert burned == 5 * UNIT
    assert int.from_bytes(chain.state.get(BALANCES_TOTAL_ISSUANCE) or b"", "little") == before - 5 * UNIT - fee


def test_sudo_force_set_balance_creates_and_wipes(chain: Chain, decoder: EventDecoder) -> None:
    from decentralml.devnode.runtime.keys import BALANCES_TOTAL_ISSUANCE
    from decentralml.primitives.scale import compact

    b = chain.builder
    fresh = sr("//Funded")
    issuance = int.from_bytes(chain.state.get(BALANCES_TOTAL_ISSUANCE) or b"", "little")
    chain.produce([b.sign(ALICE, b.sudo(b.call("Balances", "force_set_balance", b"\x00" + fresh.account + compact(3 * UNIT))), 0)])
    wanted = {"System.NewAccount", "Balances.Endowed", "Balances.Issued", "Balances.BalanceSet", "Sudo.Sudid"}
    names = [e.name for e in events(decoder, chain) if e.name in wanted]
    assert names == ["System.NewAccount", "Balances.Endowed", "Balances.Issued", "Balances.BalanceSet", "Sudo.Sudid"]
    assert chain.free(fresh.account) == 3 * UNIT
    fee = next(e for e in events(decoder, chain) if e.name == "TransactionPayment.TransactionFeePaid").attributes["actual_fee"]
    assert int.from_bytes(chain.state.get(BALANCES_TOTAL_ISSUANCE) or b"", "little") == issuance + 3 * UNIT - fee
    chain.produce([b.sign(ALICE, b.sudo(b.call("Balances", "force_set_balance", b"\x00" + fresh.account + compact(5))), 1)])
    assert "System.KilledAccount" in [e.name for e in events(decoder, chain)]
    assert chain.account(fresh.account)[2] == 0
