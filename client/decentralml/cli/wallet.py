"""Wallet commands: balance, transfer."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from decentralml.amounts import format_amount, parse_amount
from decentralml.chain.signer import validate_address
from decentralml.cli import bounded, common
from decentralml.cli.context import run_context
from decentralml.cli.output import UntrustedTable
from decentralml.usecases import wallet


def balance_cmd(
    ctx: typer.Context,
    address: Annotated[Optional[str], typer.Argument(help="SS58 address (default: the signer's).")] = None,
) -> None:
    """Show an account's balance."""
    run = run_context(ctx)
    target = validate_address(address or common.account_address(run, "balance needs an ADDRESS or an account to show"))
    with common.chain_client(run) as chain:
        token = chain.token
        bal = wallet.balance(chain, target)
    table = UntrustedTable(title="Balance", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", justify="right")
    table.add_row("address", bal.address)
    for name, value in (("free", bal.free), ("reserved", bal.reserved), ("frozen", bal.frozen)):
        table.add_row(name, format_amount(value, token))
    run.output.data(
        {
            "address": bal.address,
            "free": common.amount_json(bal.free, token),
            "reserved": common.amount_json(bal.reserved, token),
            "frozen": common.amount_json(bal.frozen, token),
        },
        table,
    )


def transfer_cmd(
    ctx: typer.Context,
    dest: Annotated[str, typer.Argument(help="Recipient SS58 address.")],
    amount: Annotated[str, bounded.amount("Amount: '10 UNIT', '0.5' or '5000planck'.")],
    allow_death: Annotated[
        bool, typer.Option("--allow-death", help="Allow the sender's balance to drop below the existential deposit.")
    ] = False,
) -> None:
    """Send tokens to another account."""
    run = run_context(ctx)
    validate_address(dest)
    keypair = common.resolve_signer(run)
    with common.chain_client(run) as chain:
        token = chain.token
        planck = parse_amount(amount, token)
        done = wallet.transfer(chain, keypair, dest, planck, keep_alive=not allow_death)
    run.output.message(f"Sent {format_amount(done.amount, token)} from {done.sender} to {done.dest}.")
    run.output.data(
        {
            "from": done.sender,
            "to": done.dest,
            "amount": common.amount_json(done.amount, token),
            "transaction": common.receipt_json(done.receipt),
        },
        done.receipt.extrinsic_hash,
    )


def register(app: typer.Typer) -> None:
    app.command("balance")(balance_cmd)
    app.command("transfer")(transfer_cmd)
