"""Typer parameters whose values are bounded while the command line is parsed.

A command's integers, decimals and amounts are checked here, before the command
runs: a value outside its range is a usage error (exit 2, one line naming the
range: ``Invalid value for 'TASK_ID': ... is not in the range 0..N.``), raised before anything
connects, uploads or writes. The integer ranges are those of the types the
values are sent or passed as (:mod:`decentralml.primitives.scale` holds the
``uN`` limits; :mod:`decentralml.chain.pallet` says which type each on-chain
value has), so a value the chain or a library could not take never reaches them.

* :func:`uint` - an integer in ``minimum..=maximum``, written in ASCII digits (:func:`integer`);
* :func:`finite_float` - a float that is a number (``nan``, ``inf`` and values
  that overflow to it, like ``1e400``, are refused) within optional bounds;
* :func:`amount` - an amount of tokens or planck checked with
  :func:`decentralml.amounts.check_amount_text` (the chain's decimals are
  applied when the command has connected).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any, Optional

import typer

from decentralml.amounts import check_amount_text
from decentralml.errors import UsageError
from decentralml.primitives.numbers import ascii_float, ascii_int
from decentralml.primitives.scale import U32_MAX, U64_MAX
from decentralml.untrusted import clip, printable

__all__ = ["COUNT_MAX", "SIZE_MAX", "amount", "finite_float", "parse_size", "uint"]

#: The largest count (epochs, processes, connections, ...) a command accepts: a ``u32``.
COUNT_MAX = U32_MAX
#: The largest size in bytes, or number of rows, a command accepts: a ``u64``.
SIZE_MAX = U64_MAX


_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str, option: str, maximum: int | None = None) -> int:
    """'4GiB', '512M', '1.5G' or a number of bytes -> bytes (binary units, a fraction of a byte dropped).

    Raises UsageError (exit 2) naming the range ``1..maximum`` when the text is not a size or is out
    of it. The default maximum is the sandbox's :data:`~decentralml.sandbox.policy.RLIMIT_MAX`: every
    size limit of the sandbox is applied with setrlimit.
    """
    if maximum is None:
        from decentralml.sandbox.policy import RLIMIT_MAX

        maximum = RLIMIT_MAX
    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"{option} {text!r} is not a size.", hint="Use e.g. 4GiB, 512MiB or a number of bytes.")
    unit = (match.group(2) or "").upper()[:1]
    value = int(Fraction(match.group(1)) * _UNITS[unit])  # exact: a float would round 2^63-1 up to 2^63
    if not 1 <= value <= maximum:
        raise UsageError(f"{option} {text.strip()} is not in the range 1..{maximum} bytes.",
                         hint="Use e.g. 4GiB, 512MiB or a number of bytes.")
    return value


def integer(text: str | int) -> int:
    """An integer written with the ASCII digits 0-9 (:func:`~decentralml.primitives.numbers.ascii_int`) -> int.

    Named ``integer`` so that help shows ``INTEGER``.
    """
    if isinstance(text, int):  # a default value
        return text
    try:
        return ascii_int(text)
    except ValueError:
        raise typer.BadParameter(f"'{printable(clip(text, 40))}' is not a whole number (digits 0-9).") from None


def decimal(text: str | float) -> float:
    """A number written with the ASCII digits 0-9 (:func:`~decentralml.primitives.numbers.ascii_float`) -> float.

    Registered under the name ``float`` so that help shows ``FLOAT``.
    """
    if isinstance(text, (int, float)):  # a default value
        return float(text)
    try:
        return ascii_float(text)
    except ValueError:
        raise typer.BadParameter(f"'{printable(clip(text, 40))}' is not a number (digits 0-9).") from None


decimal.__name__ = "float"


def uint(maximum: int, help: str, *names: str, minimum: int = 0, **extra: Any) -> Any:
    """An integer parameter in ``minimum..=maximum``: an option when ``names`` are given, else an argument."""

    def within(value: Optional[int]) -> Optional[int]:
        if value is not None and not minimum <= value <= maximum:
            raise typer.BadParameter(f"{value} is not in the range {minimum}..{maximum}.")
        return value

    return _parameter(names, help, within, {"parser": integer, **extra})


def finite_float(help: str, *names: str, minimum: float | None = None, maximum: float | None = None, **extra: Any) -> Any:
    """A float option (``names``) or argument that must be a finite number within the optional bounds."""

    def finite(value: Optional[float]) -> Optional[float]:
        if value is None:
            return None
        if not math.isfinite(value):
            raise typer.BadParameter(f"{value} is not a finite number.")
        if minimum is not None and value < minimum:
            raise typer.BadParameter(f"{value:g} is below the minimum, {minimum:g}.")
        if maximum is not None and value > maximum:
            raise typer.BadParameter(f"{value:g} is above the maximum, {maximum:g}.")
        return value

    return _parameter(names, help, finite, {"parser": decimal, **extra})


def _parameter(names: tuple[str, ...], help: str, check: Callable[[Any], Any], extra: dict[str, Any]) -> Any:
    """The Typer option (``names``) or argument whose callback ``check`` validates its value.

    The bounds are checked here rather than by Typer's ``min``/``max``, so that the message
    states the whole range in the same words on every Typer release the client supports.
    """
    if names:
        return typer.Option(*names, help=help, callback=check, **extra)
    return typer.Argument(help=help, callback=check, **extra)


def _amount_text(value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    try:
        return check_amount_text(value)
    except UsageError as exc:
        raise typer.BadParameter(exc.one_line()) from None


def amount(help: str, *names: str, **extra: Any) -> Any:
    """An amount option (``names``) or argument: '10 UNIT', '0.5' or '5000planck', checked as it is parsed."""
    return _parameter(names, help, _amount_text, extra)
