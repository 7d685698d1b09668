"""The root ``decentralml`` Typer app: global options, command registration,
and the one top-level error handler.

Every :class:`~decentralml.errors.DecentralMLError` becomes its one-line
message on stderr and its exit code; Ctrl-C exits 130; anything unexpected
exits 1 with a hint to rerun with ``--debug`` (which shows tracebacks). Under
``--json`` the same line is a JSON object, ``{"error": {...}}``, still on stderr
so stdout holds only a command's data.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Optional

import click
import typer
from typer.core import TyperGroup

from decentralml import __version__
from decentralml.cli.context import RunContext
from decentralml.cli.output import Output
from decentralml.config import DEFAULT_URL, build_settings
from decentralml.errors import DecentralMLError
from decentralml.untrusted import printable

EXIT_INTERRUPTED = 130
EXIT_UNEXPECTED = 1


def _debug_requested(ctx: click.Context) -> bool:
    obj = ctx.find_object(RunContext)
    if obj is not None:
        return obj.settings.debug
    return "--debug" in sys.argv or os.environ.get("DECENTRALML_DEBUG", "").lower() in ("1", "true", "yes")


def _json_requested(ctx: click.Context | None) -> bool:
    obj = ctx.find_object(RunContext) if ctx is not None else None
    if obj is not None:
        return obj.settings.json
    if ctx is not None and "json_output" in ctx.params:  # the root callback failed before settings existed
        return bool(ctx.params["json_output"])
    return "--json" in sys.argv or os.environ.get("DECENTRALML_JSON", "").lower() in ("1", "true", "yes")


def _print_error(text: str, ctx: click.Context | None = None, *, exc: BaseException | None = None, exit_code: int) -> None:
    text = printable(text)  # untrusted text: controls escaped, URL credentials redacted
    if not _json_requested(ctx):
        click.echo(f"Error: {text}", err=True)
        return
    error: dict[str, Any] = {"message": text, "exit_code": exit_code, "type": type(exc).__name__ if exc else None}
    if isinstance(exc, DecentralMLError):
        error.update(message=exc.message, hint=exc.hint)
        for attribute in ("module", "name"):  # a pallet error's identity (DispatchError)
            if getattr(exc, attribute, None) is not None:
                error[attribute] = getattr(exc, attribute)
    click.echo(json.dumps({"error": error}, sort_keys=True), err=True)


class DecentralMLGroup(TyperGroup):
    """A Typer group whose invoke maps our errors to one line and an exit code.

    Doing it here (not only in :func:`main`) makes ``CliRunner`` tests see the
    same exit codes and messages as a user does.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except DecentralMLError as exc:
            if _debug_requested(ctx):
                traceback.print_exc(file=sys.stderr)
            _print_error(exc.one_line(), ctx, exc=exc, exit_code=exc.exit_code)
            raise click.exceptions.Exit(exc.exit_code) from exc
        except KeyboardInterrupt as exc:
            _print_error("Interrupted.", ctx, exc=exc, exit_code=EXIT_INTERRUPTED)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if _debug_requested(ctx):
                traceback.print_exc(file=sys.stderr)
            _print_error(
                f"Unexpected {type(exc).__name__}: {exc}. Rerun with --debug for the traceback.",
                ctx, exc=exc, exit_code=EXIT_UNEXPECTED,
            )
            raise click.exceptions.Exit(EXIT_UNEXPECTED) from exc


app = typer.Typer(
    name="decentralml",
    cls=DecentralMLGroup,
    help="DecentralML: create, take and pay for machine-learning tasks on a Substrate chain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"decentralml {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    url: Optional[str] = typer.Option(
        None, "--url", envvar="DECENTRALML_URL", help=f"Node WebSocket URL (default {DEFAULT_URL})."
    ),
    suri: Optional[str] = typer.Option(
        None,
        "--suri",
        envvar="DECENTRALML_SURI",
        help="Signer as a secret URI: a mnemonic with optional //hard, /soft and ///password parts, a 0x hex seed, "
        "or a dev key like //Alice. '-' reads it from standard input. Prefer --account (keystore), --suri-file or "
        "'--suri -': a value on the command line is visible to other local users in the process list.",
        show_default=False,
    ),
    suri_file: Optional[Path] = typer.Option(
        None, "--suri-file", help="Read the signer's secret URI from the first line of this file (keep it mode 0600)."
    ),
    crypto: Optional[str] = typer.Option(
        None, "--crypto", envvar="DECENTRALML_CRYPTO", help="Signature scheme of --suri: sr25519 (default), ed25519, ecdsa."
    ),
    account: Optional[str] = typer.Option(
        None,
        "--account",
        "-a",
        envvar="DECENTRALML_ACCOUNT",
        help="Signer from the local keystore (password from DECENTRALML_PASSWORD or a prompt).",
    ),
    json_output: bool = typer.Option(False, "--json", envvar="DECENTRALML_JSON", help="Machine-readable JSON on stdout."),
    debug: bool = typer.Option(False, "--debug", envvar="DECENTRALML_DEBUG", help="Show tracebacks."),
    quiet: bool = typer.Option(False, "--quiet", "-q", envvar="DECENTRALML_QUIET", help="Only data and errors."),
    timeout: Optional[float] = typer.Option(
        None, "--timeout", envvar="DECENTRALML_TIMEOUT", min=0.1,
        help="Seconds to wait for a node answer or a transaction's inclusion (default 60).",
    ),
    config: Optional[Path] = typer.Option(
        None, "--config", envvar="DECENTRALML_CONFIG", help="Config file (default: config.toml in the user config dir)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Global options; the settings of this run are built here."""
    settings = build_settings(
        url=url,
        suri=suri,
        crypto=crypto,
        account=account,
        json_output=json_output,
        debug=debug,
        quiet=quiet,
        config_path=config,
        environ=os.environ,
        timeout=timeout,
        suri_file=suri_file,
    )
    ctx.obj = RunContext(settings=settings, output=Output(json_mode=json_output, quiet=quiet))


# ---------------------------------------------------------------------------
# Command registration: every command module has ``register(app)``.
# ---------------------------------------------------------------------------
from decentralml.cli import account, devnode, federate, results, roles, run_task, split, tasks, wallet  # noqa: E402

for _commands in (tasks, run_task, results, wallet, federate, account, split, devnode, roles):
    _commands.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, exit with its code."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="decentralml", standalone_mode=True)
    except DecentralMLError as exc:  # raised outside a command (should not happen)
        _print_error(exc.one_line(), exc=exc, exit_code=exc.exit_code)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        _print_error("Interrupted.", exc=exc, exit_code=EXIT_INTERRUPTED)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
