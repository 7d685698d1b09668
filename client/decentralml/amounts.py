"""Amounts as integers of planck, parsed and printed with the chain's decimals.

The rule for amounts a user types:

* ``10 UNIT``, ``10UNIT``, ``0.5 unit`` - a decimal number of whole tokens with
  the chain's symbol (case-insensitive); at most ``decimals`` fractional digits;
* ``0.5``, ``10`` - a bare decimal number also means whole tokens;
* ``5000planck``, ``5000 planck`` - an integer number of planck, the smallest
  unit; no fraction allowed.

Digits may be grouped with ``_`` (``1_000 UNIT``). Negative amounts, exponents
and values above ``u128`` are refused. Floats are never used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from decentralml.errors import UsageError
from decentralml.primitives.scale import U128_MAX

__all__ = ["PLANCK", "U128_MAX", "TokenInfo", "check_amount_text", "format_amount", "parse_amount"]
PLANCK = "planck"

_AMOUNT = re.compile(
    r"^\s*(?P<int>\d[\d_]*)?(?:\.(?P<frac>\d[\d_]*)?)?\s*(?P<unit>[A-Za-z]+)?\s*$",
    re.ASCII,  # digits 0-9 only: Python's \d (and int()) also read other scripts' digits
)


@dataclass(frozen=True)
class TokenInfo:
    """How the chain names and scales its token (from system_properties)."""

    decimals: int = 12
    symbol: str = "UNIT"

    def __post_init__(self) -> None:
        if not 0 <= self.decimals <= 38:
            raise ValueError(f"token decimals out of range: {self.decimals}")


def _digits(text: str) -> str:
    if "__" in text or text.endswith("_"):
        raise ValueError(text)
    return text.replace("_", "")


def _read(text: str, hint: str) -> tuple[int, str, str | None]:
    """(whole part, fraction digits, unit or None) of ``text``; UsageError when it is not an amount."""
    match = _AMOUNT.match(text)
    if match is None or (match["int"] is None and match["frac"] is None):
        raise UsageError(f"Cannot read the amount {text!r}.", hint=hint)
    try:
        whole = _digits(match["int"] or "0")
        frac = _digits(match["frac"] or "")
    except ValueError:
        raise UsageError(f"Cannot read the amount {text!r}.", hint=hint) from None
    unit = match["unit"]
    if unit is not None and unit.lower() == PLANCK and (frac or "." in text):
        raise UsageError(f"An amount in planck must be a whole number, not {text!r}.", hint=hint)
    if int(whole) > U128_MAX:  # too large whatever the chain's decimals
        raise UsageError(f"The amount {text!r} is too large for the chain (at most {U128_MAX} planck).")
    return int(whole), frac, unit


def check_amount_text(text: str) -> str:
    """The checks of :func:`parse_amount` that need no chain; returns ``text``.

    Refuses (UsageError) what no chain would take: text that is not an amount (a
    negative number, an exponent), a fraction of a planck, a whole part above ``u128``.
    The CLI runs it while it parses the command line, before it connects; the
    chain's decimals and symbol are checked by :func:`parse_amount`.
    """
    _read(text, "Write e.g. '10', '0.5' (tokens) or '5000planck'.")
    return text


def parse_amount(text: str, token: TokenInfo) -> int:
    """Parse a user-typed amount into planck (see the module docstring)."""
    hint = f"Write e.g. '10 {token.symbol}', '0.5' or '5000planck'."
    whole, frac, unit = _read(text, hint)
    if unit is not None and unit.lower() == PLANCK:
        value = whole
    elif unit is None or unit.lower() == token.symbol.lower():
        if len(frac) > token.decimals:
            raise UsageError(
                f"{text!r} has more than {token.decimals} decimal places, the chain's precision.", hint=hint
            )
        value = whole * 10**token.decimals + int(frac.ljust(token.decimals, "0") or "0")
    else:
        raise UsageError(f"Unknown unit {unit!r} in {text!r}: this chain's token is {token.symbol}.", hint=hint)
    if value > U128_MAX:
        raise UsageError(f"The amount {text!r} is too large for the chain (at most {U128_MAX} planck).")
    return value


def format_amount(planck: int, token: TokenInfo, *, symbol: bool = True) -> str:
    """Print planck as an exact decimal number of tokens, e.g. ``1.5 UNIT``."""
    sign = "-" if planck < 0 else ""
    whole, frac = divmod(abs(planck), 10**token.decimals)
    text = f"{sign}{whole}"
    if frac:
        text += "." + str(frac).rjust(token.decimals, "0").rstrip("0")
    return f"{text} {token.symbol}" if symbol else text
