"""balance and transfer, against the shared dev node with fresh funded accounts."""

import json
import secrets
from typing import Any

import pytest

from decentralml.chain.signer import keypair_from_suri
from tests.cli.conftest import UNIT, NodeCli
from tests.fixtures.chains import FUNDING, on_both_chains

pytestmark = pytest.mark.integration


@on_both_chains
def test_balance_of_address_and_signer(node_cli: NodeCli, funded_account: Any) -> None:
    someone = funded_account(10 * UNIT)
    data = node_cli.json("balance", someone.address)
    assert data == {
        "address": someone.address,
        "free": {"planck": str(10 * UNIT), "formatted": "10 UNIT"},
        "reserved": {"planck": "0", "formatted": "0 UNIT"},
        "frozen": {"planck": "0", "formatted": "0 UNIT"},
    }
    assert node_cli.json("--suri", someone.suri, "balance")["address"] == someone.address
    assert "10 UNIT" in node_cli("balance", someone.address).stdout


def test_balance_errors(node_cli: NodeCli) -> None:
    bad = node_cli("balance", "5NotAnAddress")
    assert bad.exit_code == 2 and "not a valid SS58 address" in bad.stderr
    assert node_cli("balance").exit_code == 3


@on_both_chains
def test_transfer(node_cli: NodeCli, funded_account: Any) -> None:
    sender, receiver = funded_account(), funded_account(10 * UNIT)
    data = node_cli.json("--suri", sender.suri, "transfer", receiver.address, "1.5 UNIT")
    assert data["amount"] == {"planck": str(15 * UNIT // 10), "formatted": "1.5 UNIT"}
    assert (data["from"], data["to"]) == (sender.address, receiver.address)
    assert node_cli.free(receiver.address) == 11 * UNIT + UNIT // 2
    fee = int(data["transaction"]["fee"])
    assert node_cli.free(sender.address) == FUNDING - 15 * UNIT // 10 - fee


@on_both_chains
def test_transfer_errors(node_cli: NodeCli, funded_account: Any) -> None:
    poor, rich = funded_account(10 * UNIT), funded_account()
    assert node_cli("--suri", rich.suri, "transfer", "nope", "1").exit_code == 2
    assert node_cli("--suri", rich.suri, "transfer", poor.address, "1.5 DOT").exit_code == 2
    assert node_cli("--suri", rich.suri, "transfer", rich.address, "1").exit_code == 2
    too_much = node_cli("--suri", poor.suri, "transfer", rich.address, "11 UNIT")
    assert too_much.exit_code == 7 and "Insufficient funds" in too_much.stderr  # checked before sending: no fee
    assert node_cli.free(poor.address) == 10 * UNIT
    with node_cli.chain() as chain:
        ed = int(chain.constant("Balances", "ExistentialDeposit"))
    for amount in ("10 UNIT", f"{10 * UNIT - ed + 1}planck"):  # the sender would drop below the deposit
        kept = node_cli("--json", "--suri", poor.suri, "transfer", rich.address, amount)
        error = json.loads(kept.stderr)["error"]
        assert kept.exit_code == 7 and (error["type"], error["name"]) == ("PreconditionError", "Token.NotExpendable")
        assert "--allow-death" in error["hint"]
    new_address = keypair_from_suri(f"//{secrets.token_hex(8)}").ss58_address
    dust = node_cli("--json", "--suri", rich.suri, "transfer", new_address, f"{ed - 1}planck")
    error = json.loads(dust.stderr)["error"]
    assert dust.exit_code == 7 and (error["type"], error["name"]) == ("PreconditionError", "Token.BelowMinimum")
    assert node_cli.free(poor.address) == 10 * UNIT  # nothing was sent
    no_fee = node_cli("--json", "--suri", poor.suri, "transfer", rich.address, "10 UNIT", "--allow-death")
    assert no_fee.exit_code == 7 and "Insufficient funds" in no_fee.stderr  # the fee leaves too little: the runtime
    assert json.loads(no_fee.stderr)["error"]["name"] == "Token.FundsUnavailable"
    assert UNIT * 9 < node_cli.free(poor.address) < 10 * UNIT  # included: the fee was paid
