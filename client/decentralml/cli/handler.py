"""The one top-level error handler of the CLI, on Typer's public API only.

Every :class:`~decentralml.errors.DecentralMLError` becomes its one-line
message on stderr and its exit code; Ctrl-C exits 130; anything unexpected
exits 1 with a hint to rerun with ``--debug`` (which shows tracebacks), except an
``OSError`` naming a file, which is a local path the command could not use
(:class:`~decentralml.errors.LocalPathError`, exit 3). An error line longer than
:data:`MESSAGE_LENGTH` is clipped around an ellipsis. Under
``--json`` the same line is a JSON object, ``{"error": {...}}``, still on stderr
so stdout holds only a command's data, and Python warnings (NumPy's, for
example) are not printed unless ``--debug``, so stderr holds that one line.

:class:`CliApp` is a :class:`typer.Typer` whose ``command()`` and ``callback()``
decorators wrap each function in :func:`handle_errors`, so the mapping happens
inside the command: ``typer.testing.CliRunner`` sees the same exit codes and
messages as a user does. Only Typer's public names are used (``typer.Exit``,
``typer.Abort``, ``typer.BadParameter``, ``typer.Context``, ``typer.echo``):
Typer 0.26 and later carry their own copy of Click, whose classes are not the
``click`` package's.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import typer

from decentralml.cli.context import RunContext
from decentralml.errors import ConfigError, DecentralMLError, LocalPathError, UsageError
from decentralml.primitives.localpaths import local_path_error
from decentralml.untrusted import clip, printable

EXIT_INTERRUPTED = 130
EXIT_UNEXPECTED = 1
#: The longest error line printed (characters): a message quoting a huge input is clipped (:func:`clip`).
MESSAGE_LENGTH = 1000

# The frameworks of the `ml` extra (pyproject.toml), by top-level module: a command that needs
# one of them, run in an install without the extra, says so (ConfigError, exit 3).
ML_EXTRA_MODULES = {"torch": "PyTorch", "tensorflow": "TensorFlow", "keras": "TensorFlow", "flwr": "Flower"}

#: Exceptions Typer itself turns into an exit code and message (its own exit,
#: abort and parameter errors): they pass through the handler untouched.
_TYPER_SIGNALS: tuple[type[BaseException], ...] = (typer.Exit, typer.Abort, typer.BadParameter) + tuple(
    getattr(typer, name) for name in ("TyperException",) if hasattr(typer, name)
)
#: Click's ``UsageError`` and ``ClickException`` (bad or missing arguments, unknown commands and
#: options), reached through ``typer.BadParameter``: Typer 0.26 and later subclass their own copy
#: of Click, so the classes are taken from the one Typer uses, never imported from ``click``.
_CLICK_USAGE_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
_CLICK_EXCEPTION: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")

#: Set on every function wrapped by :func:`handle_errors` (tests check every command has it).
HANDLED_MARK = "__decentralml_handles_errors__"

_CTX_PARAM = "_decentralml_ctx"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def run_flags(ctx: typer.Context | None, argv: list[str] | None = None) -> tuple[bool, bool]:
    """(json, debug) of this run: from the settings, else the parsed root options, else argv
    (``sys.argv`` by default) and the environment."""
    run = ctx.find_object(RunContext) if ctx is not None else None
    if run is not None:
        return run.settings.json, run.settings.debug
    node: Any = ctx  # the root callback failed before the settings existed: its parsed options
    while node is not None:
        if "json_output" in node.params or "debug" in node.params:
            return bool(node.params.get("json_output")), bool(node.params.get("debug"))
        node = node.parent
    argv = sys.argv[1:] if argv is None else argv
    return ("--json" in argv or _env_flag("DECENTRALML_JSON"), "--debug" in argv or _env_flag("DECENTRALML_DEBUG"))


def print_error(
    text: str, *, json_mode: bool, exc: BaseException | None = None, exit_code: int, warnings: Sequence[str] = ()
) -> None:
    """Write the one error line to stderr: ``Error: text``, or a JSON object under ``--json``.

    ``text`` is made printable (controls escaped, URL credentials redacted): an unexpected
    exception's text may carry a chain string or a node URL. ``warnings``: those the command
    gave under ``--json`` before failing (:meth:`Output.warning`), carried in the JSON object.
    """
    text = printable(clip(text, MESSAGE_LENGTH))
    if not json_mode:
        typer.echo(f"Error: {text}", err=True)
        return
    error: dict[str, Any] = {"message": text, "exit_code": exit_code, "type": _json_type(exc), "hint": None}
    if warnings:
        error["warnings"] = list(warnings)
    if isinstance(exc, DecentralMLError):
        error.update(message=clip(exc.message, MESSAGE_LENGTH), hint=exc.hint)
        for attribute in ("module", "name"):  # a pallet error's identity (DispatchError)
            if getattr(exc, attribute, None) is not None:
                error[attribute] = getattr(exc, attribute)
    typer.echo(json.dumps({"error": error}, sort_keys=True), err=True)


def _json_type(exc: BaseException | None) -> str | None:
    """The error's ``type`` under ``--json``: a documented class name (docs/cli.md, Exit codes).

    An interruption is ``"Interrupted"`` (exit 130); any other exception that is not a
    :class:`DecentralMLError` is ``"UnexpectedError"`` (exit 1, a bug), its Python type in the message.
    """
    if exc is None or isinstance(exc, DecentralMLError) or isinstance(exc, _CLICK_EXCEPTION):
        return type(exc).__name__ if exc is not None else None
    return "Interrupted" if isinstance(exc, KeyboardInterrupt) else "UnexpectedError"


def exit_for(exc: BaseException, *, json_mode: bool, debug: bool, warnings: Sequence[str] = ()) -> typer.Exit:
    """Report ``exc`` as one line on stderr and return the ``typer.Exit`` carrying its exit code.

    A Click usage error (raised while the command line is parsed) is a
    :class:`~decentralml.errors.UsageError` (exit 2); another Click exception keeps its exit code;
    ``typer.Abort`` from Ctrl-C is an interruption (130). ``warnings``: see :func:`print_error`.
    """
    if isinstance(exc, typer.Abort) and isinstance(exc.__context__, KeyboardInterrupt):
        exc = exc.__context__
    if isinstance(exc, _CLICK_EXCEPTION):
        return _click_exit(exc, json_mode=json_mode)
    if isinstance(exc, KeyboardInterrupt):
        print_error("Interrupted.", json_mode=json_mode, exc=exc, exit_code=EXIT_INTERRUPTED, warnings=warnings)
        return typer.Exit(EXIT_INTERRUPTED)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    exc = _missing_ml_extra(exc) or _local_path(exc) or exc
    if isinstance(exc, DecentralMLError):
        print_error(exc.one_line(), json_mode=json_mode, exc=exc, exit_code=exc.exit_code, warnings=warnings)
        return typer.Exit(exc.exit_code)
    print_error(
        f"Unexpected {type(exc).__name__}: {exc}. Rerun with --debug for the traceback.",
        json_mode=json_mode, exc=exc, exit_code=EXIT_UNEXPECTED, warnings=warnings,
    )
    return typer.Exit(EXIT_UNEXPECTED)


def _missing_ml_extra(exc: BaseException) -> ConfigError | None:
    """A ``ConfigError`` naming the framework when ``exc`` is the import of an ``ml``-extra module failing."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    framework = ML_EXTRA_MODULES.get(exc.name.partition(".")[0])
    if framework is None:
        return None
    return ConfigError(
        f"This command needs {framework}, which is not installed here.",
        hint="Install the client with its ml extra: pip install 'decentralml[ml]'.",
    )


def _local_path(exc: BaseException) -> LocalPathError | None:
    """A ``LocalPathError`` (exit 3) for an ``OSError`` that names a file: a local path the command could not use."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return local_path_error(exc)
    return None


def _click_exit(exc: Exception, *, json_mode: bool) -> typer.Exit:
    """One line for a Click exception: its message and, for a usage error, where to find help."""
    message = exc.format_message()  # type: ignore[attr-defined]
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, _CLICK_USAGE_ERROR):
        hint = f"Try '{ctx.command_path} --help'." if ctx is not None else "Try 'decentralml --help'."
        error = UsageError(message, hint=hint)
        print_error(error.one_line(), json_mode=json_mode, exc=error, exit_code=UsageError.exit_code)
        return typer.Exit(UsageError.exit_code)
    code = int(getattr(exc, "exit_code", EXIT_UNEXPECTED))
    print_error(message, json_mode=json_mode, exc=exc, exit_code=code)
    return typer.Exit(code)


@contextlib.contextmanager
def _quiet_warnings(json_mode: bool, debug: bool) -> Iterator[None]:
    """Under --json (without --debug) Python warnings are not printed: stderr keeps its one JSON line."""
    with warnings.catch_warnings():
        if json_mode and not debug:
            warnings.simplefilter("ignore")
        yield


def _held_warnings(ctx: typer.Context | None) -> list[str]:
    run = ctx.find_object(RunContext) if ctx is not None else None
    return run.output.take_warnings() if run is not None else []


def _flush_warnings(ctx: typer.Context | None) -> None:
    run = ctx.find_object(RunContext) if ctx is not None else None
    if run is not None:
        run.output.flush_warnings()


def handle_errors(function: Callable[..., Any], *, command: bool = False) -> Callable[..., Any]:
    """Wrap a command or callback so that its failures become one line and an exit code.

    Typer reads the wrapper's ``__signature__``: the function's own parameters, plus a
    ``typer.Context`` parameter when the function declares none (the wrapper needs the
    context to find ``--json`` and ``--debug``; it is not passed on). When a ``command``
    ends, the warnings held under ``--json`` are printed (success, or an exit it chose) or
    carried in its error line (failure).
    """
    if getattr(function, HANDLED_MARK, False):
        return function
    signature = inspect.signature(function, eval_str=True)
    ctx_names = [
        name for name, p in signature.parameters.items()
        if inspect.isclass(p.annotation) and issubclass(p.annotation, typer.Context)
    ]
    params = list(signature.parameters.values())
    if not ctx_names:
        params.append(inspect.Parameter(_CTX_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context))
    ctx_name = ctx_names[0] if ctx_names else _CTX_PARAM

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = kwargs.get(ctx_name)
        if ctx_name == _CTX_PARAM:
            kwargs.pop(_CTX_PARAM, None)
        json_mode, debug = run_flags(ctx)
        try:
            with _quiet_warnings(json_mode, debug):
                result = function(*args, **kwargs)
        except _TYPER_SIGNALS:
            if command:
                _flush_warnings(ctx)
            raise
        except (Exception, KeyboardInterrupt) as exc:  # the last line of defence
            json_mode, debug = run_flags(ctx)  # the root callback may have built the settings meanwhile
            raise exit_for(exc, json_mode=json_mode, debug=debug, warnings=_held_warnings(ctx)) from None
        if command:
            _flush_warnings(ctx)
        return result

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    setattr(wrapper, HANDLED_MARK, True)
    return wrapper


class CliApp(typer.Typer):
    """A ``typer.Typer`` whose commands and callbacks all go through :func:`handle_errors`.

    Every app and sub-app of the ``decentralml`` command is one of these; the
    decorators take the same arguments as Typer's own (passed through, since their
    keyword lists differ between Typer releases).
    """

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # type: ignore[override]
        register = super().command(*args, **kwargs)

        def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
            register(handle_errors(function, command=True))
            return function

        return decorator

    def callback(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # type: ignore[override]
        register = super().callback(*args, **kwargs)

        def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
            register(handle_errors(function))
            return function

        return decorator
