"""`decentralml account new|import|list|inspect`: the encrypted local keystore."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Optional

import bip39
import typer

from decentralml.chain.signer import keypair_from_suri
from decentralml.cli import common, prompts
from decentralml.cli.bounded import uint
from decentralml.cli.context import RunContext, run_context
from decentralml.cli.handler import CliApp
from decentralml.cli.output import UntrustedTable
from decentralml.config import CryptoType
from decentralml.errors import ConfigError, UsageError
from decentralml.keystore import KeystoreEntry, validate_name

app = CliApp(help="Manage signing accounts in the encrypted local keystore.")


def _new_password(run: RunContext) -> str:
    if run.settings.password is not None:
        return run.settings.password
    return prompts.secret("New password", confirm=True, instead="Set DECENTRALML_PASSWORD to the new account's password.")


def _crypto(value: Optional[str], run: RunContext) -> CryptoType:
    if value is None:
        return run.settings.crypto
    try:
        return CryptoType(value.lower())
    except ValueError:
        raise UsageError(f"Unknown crypto type {value!r}.", hint="Use sr25519, ed25519 or ecdsa.") from None


def _entry_json(entry: KeystoreEntry) -> dict[str, object]:
    return {
        "name": entry.name,
        "address": entry.address,
        "crypto": entry.crypto.value,
        "created_at": entry.created_at,
        "path": str(entry.path),
    }


CryptoOpt = Annotated[Optional[str], typer.Option("--crypto", help="sr25519 (default), ed25519 or ecdsa (Substrate's, as subkey).")]
ShowSecretOpt = Annotated[bool, typer.Option("--show-secret", help="Also print the secret (keep it private!).")]
InsecurePasswordOpt = Annotated[
    bool, typer.Option("--insecure-password", help="Accept a password shorter than 8 characters (throwaway test accounts only).")
]


def _store(run: RunContext, name: str, suri: str, crypto: CryptoType, show_secret: bool, insecure_password: bool) -> None:
    validate_name(name)
    address = keypair_from_suri(suri, crypto).ss58_address
    password = _new_password(run)
    entry = common.keystore(run.settings).add(name, suri, address, crypto, password, allow_short_password=insecure_password)
    run.output.message(f"Stored account {name} ({address}) in {entry.path}.")
    payload = _entry_json(entry)
    if show_secret:
        payload["secret"] = suri
    run.output.data(payload, f"{address}\nsecret: {suri}" if show_secret else address)


@app.command("new")
def new_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Account name.")],
    crypto: CryptoOpt = None,
    words: Annotated[int, uint(24, "Mnemonic length: 12, 15, 18, 21 or 24.", "--words", minimum=12)] = 12,
    show_secret: ShowSecretOpt = False,
    insecure_password: InsecurePasswordOpt = False,
) -> None:
    """Generate a new account and store it encrypted."""
    run = run_context(ctx)
    if words not in (12, 15, 18, 21, 24):
        raise UsageError("--words must be 12, 15, 18, 21 or 24.")
    validate_name(name)
    mnemonic = bip39.bip39_generate(words)
    _store(run, name, mnemonic, _crypto(crypto, run), show_secret, insecure_password)
    if not show_secret:
        run.output.message("The mnemonic is stored encrypted; see it with `decentralml account inspect NAME --show-secret`.")


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Account name.")],
    crypto: CryptoOpt = None,
    show_secret: ShowSecretOpt = False,
    insecure_password: InsecurePasswordOpt = False,
) -> None:
    """Import a secret URI (from --suri / DECENTRALML_SURI or a hidden prompt)."""
    run = run_context(ctx)
    validate_name(name)
    suri = run.settings.suri or prompts.secret(
        "Secret URI (mnemonic, 0x seed or //Name)",
        instead="Pass --suri-file FILE (or --suri-file - to read it from standard input), or DECENTRALML_SURI.",
    )
    _store(run, name, suri.strip(), _crypto(crypto, run), show_secret, insecure_password)


@app.command("list")
def list_cmd(ctx: typer.Context) -> None:
    """List the stored accounts (no password needed)."""
    run = run_context(ctx)
    entries = common.keystore(run.settings).list()
    if not entries:
        run.output.message(f"No accounts in {run.settings.keystore_dir}: create one with `decentralml account new NAME`.")
    table = UntrustedTable(title="Accounts")
    for column in ("Name", "Address", "Crypto", "Created"):
        table.add_column(column)
    for e in entries:
        created = dt.datetime.fromtimestamp(e.created_at, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        table.add_row(e.name, e.address, e.crypto.value, created)
    run.output.data([_entry_json(e) for e in entries], table if entries else None)


@app.command("inspect")
def inspect_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Account name.")],
    show_secret: ShowSecretOpt = False,
) -> None:
    """Show an account's address and public key (and, with --show-secret, its secret)."""
    from decentralml.primitives.ss58 import public_key_of

    run = run_context(ctx)
    store = common.keystore(run.settings)
    entry = store.get(name)
    payload = _entry_json(entry)
    payload["public_key"] = "0x" + public_key_of(entry.address).hex()
    if show_secret:
        password = run.settings.password
        if password is None:
            password = prompts.secret(f"Password for {entry.name}", instead="Set DECENTRALML_PASSWORD.")
        suri = store.unlock(entry.name, password)
        if keypair_from_suri(suri, entry.crypto).ss58_address != entry.address:
            raise ConfigError(f"The keystore file {entry.path} is inconsistent: its secret does not give its address.")
        payload["secret"] = suri
    table = UntrustedTable(title=f"Account {entry.name}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key in ("address", "public_key", "crypto", "path") + (("secret",) if show_secret else ()):
        table.add_row(key, str(payload[key]))
    run.output.data(payload, table)


def register(root: typer.Typer) -> None:
    """Register the ``account`` command group on the root app."""
    root.add_typer(app, name="account")
