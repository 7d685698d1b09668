"""Balances and transfers."""

from __future__ import annotations

from dataclasses import dataclass

from decentralml.chain.client import ChainClient
from decentralml.chain.signer import validate_address
from decentralml.chain.types import Balance, Receipt
from decentralml.errors import PreconditionError, UsageError
from decentralml.primitives.keypair import Keypair


@dataclass(frozen=True)
class Transfer:
    sender: str
    dest: str
    amount: int
    receipt: Receipt


def balance(chain: ChainClient, address: str) -> Balance:
    """An account's balances (the address is checked first)."""
    return chain.balance(validate_address(address))


def transfer(chain: ChainClient, keypair: Keypair, dest: str, amount: int, *, keep_alive: bool = True) -> Transfer:
    """Send ``amount`` planck to ``dest``; with keep_alive the sender keeps the existential deposit."""
    target = validate_address(dest)
    if amount <= 0:
        raise UsageError("The amount must be more than zero.")
    if target == keypair.ss58_address:
        raise UsageError("Sender and recipient are the same account.")
    free = chain.balance(keypair.ss58_address).free
    if free < amount:
        raise PreconditionError(  # the condition the runtime reports as DispatchError Token.FundsUnavailable
            f"Insufficient funds: {keypair.ss58_address} has {free} planck free, the transfer needs {amount}.",
            hint="Lower the amount or top the account up.",
            name="Token.FundsUnavailable",
        )
    keep = int(chain.constant("Balances", "ExistentialDeposit"))
    if keep_alive and free - amount < keep:
        raise PreconditionError(  # the runtime's Token.NotExpendable, checked before the fee makes it worse
            f"{keypair.ss58_address} must keep the existential deposit of {keep} planck: it has {free} planck free"
            f" and the transfer needs {amount}.",
            hint="Lower the amount, or pass --allow-death to let the account be reaped.",
            name="Token.NotExpendable",
        )
    received = chain.balance(target).free
    if received + amount < keep:
        raise PreconditionError(  # the runtime's Token.BelowMinimum
            f"{target} would hold {received + amount} planck, below the existential deposit of {keep}.",
            hint=f"Send at least {keep - received} planck.",
            name="Token.BelowMinimum",
        )
    function = "transfer_keep_alive" if keep_alive else "transfer_allow_death"
    receipt = chain.submit(keypair, function, {"dest": target, "value": amount}, module="Balances")
    return Transfer(keypair.ss58_address, target, amount, receipt)
