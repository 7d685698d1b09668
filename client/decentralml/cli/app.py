"""The root ``decentralml`` Typer app: global options and command registration.

Failures are mapped to one line and an exit code by :mod:`decentralml.cli.handler`,
inside every command (so ``CliRunner`` tests see what a user sees); :func:`main`
is the console script and maps what happens outside a command.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from decentralml import __version__
from decentralml.cli.bounded import finite_float
from decentralml.cli.context import RunContext
from decentralml.cli.handler import HANDLED_MARK, CliApp, exit_for, run_flags
from decentralml.cli.output import Output
from decentralml.cli.paths import path_parameter
from decentralml.config import DEFAULT_URL, TIMEOUT_MAX_S, TIMEOUT_MIN_S, build_settings, exposed_secret_file
from decentralml.fl.framework_logs import quiet_framework_logs

#: Context settings of the root app and of every app that holds a command (see :func:`command_app`).
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}


def real_command(ctx: typer.Context, name: str) -> Any:
    """The Click command Typer builds for the real command ``name`` (imports its module)."""
    return typer.main.get_command(command_app(name)).get_command(ctx, name)  # type: ignore[attr-defined]


class LazyGroup(TyperGroup):
    """The root group: runs (and completes) the real command in place of its stand-in.

    Only the methods Click calls to run or complete a subcommand are changed;
    listing the commands (``--help``) still sees the stand-ins and imports nothing.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Under DECENTRALML_JSON a bare `decentralml` is the usage error "Missing command." (one JSON
        # line), not the help printed on stdout that no_args_is_help gives a terminal.
        if not args and not ctx.resilient_parsing and run_flags(None, [])[0]:
            ctx.fail("Missing command.")
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is None or getattr(getattr(command, "callback", None), _STAND_IN_MARK, None) != name:
            return name, command, rest
        try:
            return name, real_command(ctx, name), rest
        except (Exception, KeyboardInterrupt) as exc:  # a module that cannot be imported: one line, its exit code
            if ctx.resilient_parsing:  # completing: nothing to offer past the command's name
                return name, command, rest
            json_mode, debug = run_flags(ctx)
            raise exit_for(exc, json_mode=json_mode, debug=debug) from None


#: Set on a stand-in's callback to the command name it stands for.
_STAND_IN_MARK = "__decentralml_stand_in__"


app = CliApp(
    name="decentralml",
    cls=LazyGroup,
    help="DecentralML: create, take and pay for machine-learning tasks on a Substrate chain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT_SETTINGS,
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
    suri_file: Annotated[Optional[Path], path_parameter(
        "--suri-file", help="Read the signer's secret URI from the first line of this file (keep it mode 0600)."
    )] = None,
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
    timeout: Annotated[Optional[float], finite_float(
        "Seconds to wait for a node answer or a transaction's inclusion (default 60).",
        "--timeout", minimum=TIMEOUT_MIN_S, maximum=TIMEOUT_MAX_S, envvar="DECENTRALML_TIMEOUT",
    )] = None,
    config: Annotated[Optional[Path], path_parameter(
        "--config",
        help="Config file, which must exist (default: DECENTRALML_CONFIG if set, else config.toml in the user config dir).",
    )] = None,
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Global options; the settings of this run are built here."""
    quiet_framework_logs(debug)
    settings = build_settings(
        url=url,
        suri=suri,
        crypto=crypto,
        account=account,
        json_output=json_output,
        debug=debug,
        quiet=quiet,
        config_path=config,
        config_required=config is not None,
        environ=os.environ,
        timeout=timeout,
        suri_file=suri_file,
    )
    output = Output(json_mode=json_output, quiet=quiet)
    exposed = exposed_secret_file(suri_file) if suri_file is not None else None
    if exposed is not None:
        output.warning(exposed)
    ctx.obj = RunContext(settings=settings, output=output)


# ---------------------------------------------------------------------------
# Command registration: lazy, on Typer's public API. For each command the root app
# holds a stand-in registered with `app.command()`: its name and one-line help, so
# that `decentralml --help` lists the commands without importing their modules.
# The root group (`LazyGroup`, Typer's documented `cls=` hook) resolves a stand-in
# to the real command when it is about to run, or to be completed by the shell: it
# imports the command's module, builds a Typer app holding the real command
# (`command_app`) and hands Click that command, which then parses the tokens after
# the command's name exactly as typed (a `--`, negative numbers, its own options).
# A command imports only its own module. Name -> (module, one-line help for the
# command list); every command module has `register(app)`. tests/cli/test_app.py
# checks every line against the command it names.
# ---------------------------------------------------------------------------
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "create-task": ("decentralml.cli.tasks", "Upload ASSET_DIR, escrow the rewards and publish a task; prints the task id."),
    "list-tasks": ("decentralml.cli.tasks", "List tasks: the newest open ones by default."),
    "show-task": ("decentralml.cli.tasks", "Show one task."),
    "assign-task": ("decentralml.cli.tasks", "Take a slot of a task, download and verify its assets, print the next step."),
    "close-task": ("decentralml.cli.tasks", "Close a task and refund the unspent escrow to its creator."),
    "run-task": (
        "decentralml.cli.run_task", "Run an assigned task's bundle/start_task.sh in a sandbox; extra arguments go to the bundle.",
    ),
    "send-result": ("decentralml.cli.results", "Upload RESULT_DIR and record its URI, digest and metrics on chain."),
    "list-results": ("decentralml.cli.results", "List the submissions of a task (or your own with --mine)."),
    "show-result": (
        "decentralml.cli.results", "Show a submission; verify its lineage when it has one; --download fetches the result.",
    ),
    "validate-result": ("decentralml.cli.results", "Record the validation verdict of a result (creator only)."),
    "accept-result": ("decentralml.cli.results", "Accept a result and pay its worker from the escrow (creator only)."),
    "reject-result": ("decentralml.cli.results", "Reject a result; its slot is freed and the escrow stays (creator only)."),
    "balance": ("decentralml.cli.wallet", "Show an account's balance."),
    "transfer": ("decentralml.cli.wallet", "Send tokens to another account."),
    "account": ("decentralml.cli.account", "Manage signing accounts in the encrypted local keystore."),
    "split": ("decentralml.cli.split", "Split learning (PyTorch): bundles, contributions, aggregation."),
    "federate": (
        "decentralml.cli.federate",
        "Download and verify a round's accepted results, aggregate, evaluate, save the new global model.",
    ),
    "evaluate-results": (
        "decentralml.cli.federate",
        "Evaluate each pending result with your validation function; CustomAccept tasks are judged on chain.",
    ),
    "creator": ("decentralml.cli.roles", "A creator's unattended federated job."),
    "contributor": ("decentralml.cli.roles", "Offer this machine to the marketplace."),
    "report": (
        "decentralml.cli.roles",
        "Write the job's HTML report (accuracy per round, contributions, payments) and its accuracy curve PNG.",
    ),
    "devnode": (
        "decentralml.cli.devnode",
        "Run a local DecentralML dev chain (instant seal, funded dev accounts) or purge its data.",
    ),
}


def command_app(name: str) -> CliApp:
    """A Typer app holding the real command ``name``: its module imported and ``register``-ed.

    The app has a callback, so it is a group whatever its module registers, and ``name``
    selects the command in it.
    """
    holder = CliApp(context_settings=CONTEXT_SETTINGS, pretty_exceptions_enable=False, add_completion=False)
    holder.callback()(_select)
    importlib.import_module(LAZY_COMMANDS[name][0]).register(holder)
    return holder


def _select() -> None:
    """Run the command named next."""


def _stand_in(name: str, short_help: str) -> None:
    """Register on the root app the stand-in of command ``name`` (see the comment above ``LAZY_COMMANDS``)."""

    def stand_in() -> None:
        # LazyGroup.resolve_command runs the real command instead; reaching this is a bug.
        raise RuntimeError(f"the stand-in of {name!r} ran instead of the real command")

    stand_in.__doc__ = short_help
    setattr(stand_in, _STAND_IN_MARK, name)
    setattr(stand_in, HANDLED_MARK, True)
    app.command(name, help=short_help, add_help_option=False)(stand_in)


for _name, (_module, _help) in LAZY_COMMANDS.items():
    _stand_in(_name, _help)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, exit with its code.

    Failures inside a command are handled there; this maps the rest (an error
    raised while the command line is parsed, Ctrl-C between commands). Under
    ``--json`` (or ``DECENTRALML_JSON``) the app runs outside Click's standalone
    mode, so that a usage error reaches :func:`exit_for` and is one JSON line
    (exit 2); otherwise Typer prints its usage message (exit 2 as well).
    """
    json_mode, debug = run_flags(None, argv)
    try:
        code = app(args=argv, prog_name="decentralml", standalone_mode=not json_mode)
    except (Exception, KeyboardInterrupt) as exc:
        sys.exit(exit_for(exc, json_mode=json_mode, debug=debug).exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
