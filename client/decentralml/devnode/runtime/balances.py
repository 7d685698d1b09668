"""pallet_balances' fungible logic: accounts, existential deposit, reaping, transfers.

Follows ``try_mutate_account`` of pallet_balances over frame_system's
``StoredMap``: providers are counted when the free balance reaches the
existential deposit, an account under it is reaped (``KilledAccount``) and
its dust burned (``DustLost``), new accounts get ``NewAccount`` then
``Endowed``.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from decentralml.primitives.scale import U128_MAX, u128

from . import keys
from .context import Context
from .types import AccountInfo, ArithmeticError_, TokenError, arithmetic_error, token_error


class Preservation(Enum):
    EXPENDABLE = 0
    PROTECT = 1
    PRESERVE = 2


def total_issuance(ctx: Context) -> int:
    raw = ctx.overlay.get(keys.BALANCES_TOTAL_ISSUANCE)
    return int.from_bytes(raw, "little") if raw else 0


def set_total_issuance(ctx: Context, value: int) -> None:
    ctx.overlay.set(keys.BALANCES_TOTAL_ISSUANCE, u128(max(value, 0)))


def burn(ctx: Context, amount: int) -> None:
    """Drop a credit (fees, dust): total issuance decreases, ``BurnedDebt``."""
    if amount:
        set_total_issuance(ctx, total_issuance(ctx) - amount)
        ctx.deposit_event("Balances", "BurnedDebt", u128(amount))


def mutate_account(ctx: Context, who: bytes, f: Callable[[AccountInfo], None]) -> int:
    """Apply ``f`` to the account's balances with FRAME's ref-counting; returns the dust burned."""
    ed = ctx.rt.existential_deposit
    info = ctx.account(who)
    is_new = info.data_is_default()
    did_provide = info.free >= ed
    did_consume = not is_new and (info.reserved != 0 or info.frozen != 0)
    f(info)
    does_provide = info.free >= ed
    does_consume = info.reserved != 0 or info.frozen != 0
    if not did_provide and does_provide:
        ctx.inc_providers(who, info)
    if did_consume and not does_consume:
        info.consumers = max(info.consumers - 1, 0)
    if not did_consume and does_consume:
        info.consumers += 1
    reaped = False
    if did_provide and not does_provide:
        reaped = ctx.dec_providers(who, info)
    endowed = info.free
    dust = 0
    if info.free < ed and not does_consume:
        dust = info.free
        info.free = info.reserved = info.frozen = 0
        info.flags = 1 << 127
    if reaped or (info.providers == 0 and info.sufficients == 0):
        ctx.remove_account(who)
    else:
        ctx.put_account(who, info)
    if is_new:
        ctx.deposit_event("Balances", "Endowed", who + u128(endowed))
    if dust:
        ctx.deposit_event("Balances", "DustLost", who + u128(dust))
    return dust


def can_dec_provider(info: AccountInfo) -> bool:
    return info.consumers == 0 or info.providers > 1


def reducible_balance(ctx: Context, who: bytes, preservation: Preservation, force: bool = False) -> int:
    info = ctx.account(who)
    return _reducible(ctx, info, preservation, force)


def _reducible(ctx: Context, info: AccountInfo, preservation: Preservation, force: bool) -> int:
    ed = ctx.rt.existential_deposit
    untouchable = 0 if force else max(info.frozen - info.reserved, 0)
    if (
        preservation is Preservation.PRESERVE
        or (preservation is Preservation.PROTECT and info.free and info.providers == 1)
        or (preservation is Preservation.EXPENDABLE and info.free and not can_dec_provider(info))
    ):
        untouchable = max(untouchable, ed)
    return max(info.free - untouchable, 0)


def _check_withdraw(ctx: Context, info: AccountInfo, amount: int, keep_alive: bool) -> None:
    """``can_withdraw(..).into_result(keep_alive)``."""
    if amount == 0:
        return
    ed = ctx.rt.existential_deposit
    new_free = info.free - amount
    if new_free < 0:
        raise token_error(TokenError.FUNDS_UNAVAILABLE)
    if amount > _reducible(ctx, info, Preservation.EXPENDABLE, False):
        raise token_error(TokenError.FROZEN)
    if new_free < ed:
        if not can_dec_provider(info):
            raise token_error(TokenError.ONLY_PROVIDER)  # WouldDie
        if new_free + info.reserved < info.frozen:
            raise token_error(TokenError.FROZEN)
        if keep_alive:
            raise token_error(TokenError.NOT_EXPENDABLE)  # ReducedToZero while keeping alive
    elif new_free + info.reserved < info.frozen:
        raise token_error(TokenError.FROZEN)


def _check_deposit(ctx: Context, info: AccountInfo, amount: int) -> None:
    if amount == 0:
        return
    ed = ctx.rt.existential_deposit
    new_free = info.free + amount
    if new_free > U128_MAX or new_free + info.reserved > U128_MAX:
        raise arithmetic_error(ArithmeticError_.OVERFLOW)
    if new_free < ed:
        raise token_error(TokenError.BELOW_MINIMUM)


def decrease_balance(ctx: Context, who: bytes, amount: int, preservation: Preservation, exact: bool = True) -> int:
    info = ctx.account(who)
    reducible = _reducible(ctx, info, preservation, False)
    if exact and reducible < amount:
        raise token_error(TokenError.FUNDS_UNAVAILABLE)
    amount = min(amount, reducible)
    new_free = info.free - amount

    def write(acc: AccountInfo) -> None:
        acc.free = new_free

    dust = mutate_account(ctx, who, write)
    burn(ctx, dust)
    return amount


def increase_balance(ctx: Context, who: bytes, amount: int) -> int:
    info = ctx.account(who)
    ed = ctx.rt.existential_deposit
    new_free = min(info.free + amount, U128_MAX)
    if new_free < ed or new_free == info.free:
        return 0

    def write(acc: AccountInfo) -> None:
        acc.free = new_free

    mutate_account(ctx, who, write)
    return new_free - info.free


def transfer(ctx: Context, source: bytes, dest: bytes, amount: int, preservation: Preservation) -> None:
    """``fungible::Mutate::transfer`` then the ``Transfer`` event."""
    _check_withdraw(ctx, ctx.account(source), amount, preservation is not Preservation.EXPENDABLE)
    _check_deposit(ctx, ctx.account(dest), amount)
    if source == dest:
        return
    decrease_balance(ctx, source, amount, preservation, exact=False)
    increase_balance(ctx, dest, amount)
    ctx.deposit_event("Balances", "Transfer", source + dest + u128(amount))


def withdraw(ctx: Context, who: bytes, amount: int, preservation: Preservation) -> int:
    """``fungible::Balanced::withdraw`` (exact): the ``Withdraw`` event; the credit is the caller's."""
    taken = decrease_balance(ctx, who, amount, preservation, exact=True)
    ctx.deposit_event("Balances", "Withdraw", who + u128(taken))
    return taken


def can_withdraw_fee(ctx: Context, who: bytes, amount: int) -> bool:
    return _reducible(ctx, ctx.account(who), Preservation.PRESERVE, False) >= amount


def deposit(ctx: Context, who: bytes, amount: int) -> int:
    """``fungible::Balanced::deposit`` (best effort): the ``Deposit`` event."""
    added = increase_balance(ctx, who, amount)
    ctx.deposit_event("Balances", "Deposit", who + u128(added))
    return added


def burn_from(ctx: Context, who: bytes, amount: int, preservation: Preservation) -> int:
    """``fungible::Mutate::burn_from`` (exact): total issuance decreases, ``Burned``."""
    if _reducible(ctx, ctx.account(who), preservation, False) < amount:
        raise token_error(TokenError.FUNDS_UNAVAILABLE)
    actual = decrease_balance(ctx, who, amount, preservation, exact=False)
    set_total_issuance(ctx, total_issuance(ctx) - actual)
    ctx.deposit_event("Balances", "Burned", who + u128(actual))
    return actual


def force_set_balance(ctx: Context, who: bytes, new_free: int) -> None:
    """Root sets a free balance (below the ED: wiped); issuance follows (``Issued``/``Rescinded``)."""
    ed = ctx.rt.existential_deposit
    new_free = 0 if new_free < ed else new_free
    old_free = ctx.account(who).free

    def write(acc: AccountInfo) -> None:
        acc.free = new_free

    mutate_account(ctx, who, write)
    if new_free > old_free:
        set_total_issuance(ctx, total_issuance(ctx) + new_free - old_free)
        ctx.deposit_event("Balances", "Issued", u128(new_free - old_free))
    elif new_free < old_free:
        set_total_issuance(ctx, total_issuance(ctx) - (old_free - new_free))
        ctx.deposit_event("Balances", "Rescinded", u128(old_free - new_free))
    ctx.deposit_event("Balances", "BalanceSet", who + u128(new_free))
