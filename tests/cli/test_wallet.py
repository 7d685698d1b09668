"""balance and transfer."""

from tests.cli.conftest import ALICE, BOB, UNIT, Cli


def test_balance_of_address_and_signer(cli: Cli) -> None:
    data = cli.json("balance", BOB)
    assert data == {
        "address": BOB,
        "free": {"planck": str(10 * UNIT), "formatted": "10 UNIT"},
        "reserved": {"planck": "0", "formatted": "0 UNIT"},
        "frozen": {"planck": "0", "formatted": "0 UNIT"},
    }
    assert cli.json("--suri", "//Alice", "balance")["address"] == ALICE
    assert "1000 UNIT" in cli("balance", ALICE).stdout


def test_balance_errors(cli: Cli) -> None:
    bad = cli("balance", "5NotAnAddress")
    assert bad.exit_code == 2 and "not a valid SS58 address" in bad.stderr
    assert cli("balance").exit_code == 3


def test_transfer(cli: Cli) -> None:
    data = cli.json("--suri", "//Alice", "transfer", BOB, "1.5 UNIT")
    assert data["amount"] == {"planck": str(15 * UNIT // 10), "formatted": "1.5 UNIT"}
    assert (data["from"], data["to"]) == (ALICE, BOB)
    assert cli.chain.balances[BOB] == 11 * UNIT + UNIT // 2
    assert cli.chain.calls[-1][:2] == ("Balances", "transfer_keep_alive")


def test_transfer_errors(cli: Cli) -> None:
    assert cli("--suri", "//Alice", "transfer", "nope", "1").exit_code == 2
    assert cli("--suri", "//Alice", "transfer", BOB, "1.5 DOT").exit_code == 2
    assert cli("--suri", "//Alice", "transfer", ALICE, "1").exit_code == 2
    poor = cli("--suri", "//Bob", "transfer", ALICE, "11 UNIT")
    assert poor.exit_code == 6 and "Insufficient funds" in poor.stderr
    fee = cli("--suri", "//Bob", "transfer", ALICE, "10 UNIT")
    assert fee.exit_code == 6
    assert cli.chain.balances[BOB] == 10 * UNIT
