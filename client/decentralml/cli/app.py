"""The root ``decentralml`` Typer app: global options and command registration.

Failures are mapped to one line and an exit code by :mod:`decentralml.cli.handler`,
inside every command (so ``CliRunner`` tests see what a user sees); :func:`main`
is the console script and maps what happens outside a command.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Optional

import click
import typer
from typer.core import TyperGroup

from decentralml import __version__
from decentralml.cli.context import RunContext
from decentralml.cli.handler import CliApp, exit_for, run_flags
from decentralml.cli.output import Output
from decentralml.config import DEFAULT_URL, build_settings, exposed_secret_file
from decentralml.fl.framework_logs import quiet_framework_logs


class LazyGroup(TyperGroup):
    """The root group: commands from ``LAZY_COMMANDS`` are listed without importing their modules."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *LAZY_COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            command = LazyCommand(cmd_name, LAZY_COMMANDS[cmd_name][2])
        return command


app = CliApp(
    cls=LazyGroup,
    name="decentralml",
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
    "run-task": (
        "decentralml.cli.run_task", "register",
        "Run an assigned task's bundle/start_task.sh in a sandbox; extra arguments go to the bundle.",
    ),
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
    holder = CliApp()  # commands registered on a CliApp go through the one error handler
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
