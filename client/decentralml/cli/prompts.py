"""Questions asked on the terminal, and the error when there is none to ask.

Without a terminal on standard input (a pipe, ``</dev/null``, a service), Click's prompts
read whatever is there, warn that a password may be echoed, or abort with exit 1. Every
prompt of the CLI goes through here instead: without a terminal it is a one-line error
naming what to pass instead, raised before anything is printed or written.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from decentralml.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from decentralml.cli.output import Output


def has_terminal() -> bool:
    """Whether standard input is a terminal someone can answer on."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdin
        return False


def secret(label: str, *, instead: str, confirm: bool = False) -> str:
    """A hidden answer to ``label`` (typed twice with ``confirm``).

    Raises ConfigError (exit 3) without a terminal; ``instead`` says which option or
    environment variable gives the value then (the error's hint).
    """
    if not has_terminal():
        raise ConfigError(f"{label} is needed and there is no terminal to ask for it.", hint=instead)
    return str(typer.prompt(label, hide_input=True, confirmation_prompt=confirm, err=True))


def require_terminal(what: str, *, instead: str) -> None:
    """Raise UsageError (exit 2) unless a terminal can answer the question about ``what``.

    Called before the question's context (a table of limits, a plan) is printed, so that a run
    without a terminal prints the one-line error only.
    """
    if not has_terminal():
        raise UsageError(f"{what} and there is no terminal to ask.", hint=instead)


def confirm(question: str, *, instead: str) -> bool:
    """The yes/no answer to ``question`` (default no); UsageError without a terminal (see :func:`require_terminal`)."""
    require_terminal(f"{question.rstrip('?')}: this needs an answer", instead=instead)
    return bool(typer.confirm(question, default=False, err=True))


def confirm_after(output: Output, shown: Any, question: str, *, what: str, instead: str, instead_shown: str) -> bool:
    """Print ``shown`` (what the question is about) on stderr, then :func:`confirm` ``question``.

    Without a terminal, under ``--json`` or ``--quiet`` only the error line is printed (``what``, hint
    ``instead``); otherwise ``shown`` comes first and the error's hint is ``instead_shown``.
    """
    if output.json_mode or output.quiet:
        require_terminal(what, instead=instead)
        instead_shown = instead
    output.err.print(shown)
    return confirm(question, instead=instead_shown)
