"""The root ``decentralml`` Typer app: global options and command registration.

Failures are mapped to one line and an exit code by :mod:`decentralml.cli.handler`,
inside every command (so ``CliRunner`` tests see what a user sees); :func:`main`
is the console script and maps what happens outside a command.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from decentralml import __version__
from decentralml.cli.context import RunContext
from decentralml.cli.handler import CliApp, exit_for, run_flags
from decentralml.cli.output import Output
from decentralml.config import DEFAULT_URL, build_settings
from decentralml.fl.framework_logs import quiet_framework_logs

app = CliApp(
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
    ctx.obj = RunContext(settings=settings, output=Output(json_mode=json_output, quiet=quiet))


# ---------------------------------------------------------------------------
# Command registration: every command module has ``register(app)``.
# ---------------------------------------------------------------------------
from decentralml.cli import account, devnode, federate, results, roles, run_task, split, tasks, wallet  # noqa: E402

for _commands in (tasks, run_task, results, wallet, federate, account, split, devnode, roles):
    _commands.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, exit with its code.

    Failures inside a command are handled there; this maps the rest (an error
    raised while the command line is parsed, Ctrl-C between commands).
    """
    try:
        app(args=argv, prog_name="decentralml")
    except (Exception, KeyboardInterrupt) as exc:
        json_mode, debug = run_flags(None, argv)
        sys.exit(exit_for(exc, json_mode=json_mode, debug=debug).exit_code)


if __name__ == "__main__":
    main()
