"""Numbers read from text a person typed (a command line, an environment variable, a config file).

Python's ``int()`` and ``float()`` also read the digits of other scripts (``'١٠'``, a full-width
``'５'``) and underscores, so a value that looks like one number to a reader could be another
to the program. These read the ASCII digits 0-9 only.
"""

from __future__ import annotations

import re

__all__ = ["ascii_float", "ascii_int"]

_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)

_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:nan|inf|infinity)", re.ASCII | re.IGNORECASE)


def ascii_int(text: str) -> int:
    """``text`` (surrounding blanks ignored) as an int written in ASCII digits with an optional sign.
    Raises ValueError for anything else (other scripts' digits, underscores, a fraction)."""
    stripped = text.strip()
    if not _INT.fullmatch(stripped):
        raise ValueError(f"{text!r} is not a whole number")
    return int(stripped)


def ascii_float(text: str) -> float:
    """``text`` (surrounding blanks ignored) as a float: a decimal or exponent number in ASCII digits,
    or ``nan``/``inf`` (left for the caller to refuse). Raises ValueError for anything else."""
    stripped = text.strip()
    if not _FLOAT.fullmatch(stripped):
        raise ValueError(f"{text!r} is not a number")
    return float(stripped)
