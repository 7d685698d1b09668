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

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *LAZY_COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            command = LazyCommand(cmd_name, LAZY_COMMANDS[cmd_name][2])
        return command

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
        help="Signer as a secret URI: a mnemonic with optional //hard, /soft and ///password parts, a 0x hex seed, or a dev key like //Alice.",
        show_default=False,
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
    )
    ctx.obj = RunContext(settings=settings, output=Output(json_mode=json_output, quiet=quiet))


# ---------------------------------------------------------------------------
# Command registration: lazy. Each command's module is imported only when that
# command runs (or its own --help is shown), so `decentralml --help` and a read
# command import only what they use. Name -> (module, attribute, one-line help for
# the command list); every command module has `register(app)`.
# tests/cli/test_app.py checks every line against the command it names.
# ---------------------------------------------------------------------------
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "create-task": (
        "decentralml.cli.tasks", "register",
        "Upload ASSET_DIR, escrow the rewards and publish a task; prints the task id.",
    ),
    "list-tasks": ("decentralml.cli.tasks", "register", "List tasks: the newest open ones by default."),
    "show-task": ("decentralml.cli.tasks", "register", "Show one task."),
    "assign-task": (
        "decentralml.cli.tasks", "register",
        "Take a slot of a task, download and verify its assets, print the next step.",
    ),
    "close-task": ("decentralml.cli.tasks", "register", "Close a task and refund the unspent escrow to its creator."),
    "send-result": (
        "decentralml.cli.results", "register",
        "Upload RESULT_DIR and record its URI, digest and metrics on chain.",
    ),
    "list-results": (
        "decentralml.cli.results", "register",
        "List the submissions of a task (or your own with --mine).",
    ),
    "show-result": (
        "decentralml.cli.results", "register",
        "Show a submission; verify its lineage when it has one; --download fetches the result.",
    ),
    "validate-result": (
        "decentralml.cli.results", "register",
        "Record the validation verdict of a result (creator only).",
    ),
    "accept-result": (
        "decentralml.cli.results", "register",
        "Accept a result and pay its worker from the escrow (creator only).",
    ),
    "reject-result": (
        "decentralml.cli.results", "register",
        "Reject a result; its slot is freed and the escrow stays (creator only).",
    ),
    "balance": ("decentralml.cli.wallet", "register", "Show an account's balance."),
    "transfer": ("decentralml.cli.wallet", "register", "Send tokens to another account."),
    "account": ("decentralml.cli.account", "register", "Manage signing accounts in the encrypted local keystore."),
    "split": ("decentralml.cli.split", "register", "Split learning (PyTorch): bundles, contributions, aggregation."),
    "federate": (
        "decentralml.cli.federate", "register",
        "Download and verify a round's accepted results, aggregate, evaluate, save the new global model.",
    ),
    "evaluate-results": (
        "decentralml.cli.federate", "register",
        "Evaluate each pending result with your validation function; CustomAccept tasks are judged on chain.",
    ),
    "creator": ("decentralml.cli.roles", "register", "A creator's unattended federated job."),
    "contributor": ("decentralml.cli.roles", "register", "Offer this machine to the marketplace."),
    "report": (
        "decentralml.cli.roles", "register",
        "Write the job's HTML report (accuracy per round, contributions, payments) and its accuracy curve PNG.",
    ),
    "devnode": (
        "decentralml.cli.devnode", "register",
        "Run a local DecentralML dev chain (instant seal, funded dev accounts) or purge its data.",
    ),
}


def load_command(name: str) -> click.Command:
    """Import the module of ``name`` and build its Click command."""
    import importlib

    module_name, attribute, _ = LAZY_COMMANDS[name]
    target = getattr(importlib.import_module(module_name), attribute)
    holder = typer.Typer()
    target(holder)
    group = typer.main.get_group(holder)
    command = group.get_command(click.Context(group), name)
    assert command is not None, f"{module_name}.{attribute} does not register {name}"
    return command


class LazyCommand(click.Command):
    """Stands in for a command in the command list; parsing it loads and hands over to the real one."""

    def __init__(self, name: str, short_help: str) -> None:
        super().__init__(name, short_help=short_help, help=short_help)

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any) -> click.Context:
        return load_command(self.name or "").make_context(info_name, args, parent=parent, **extra)


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
