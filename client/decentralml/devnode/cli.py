"""``decentralml devnode``: run a local DecentralML chain, or purge its data.

Registered by the main CLI as ``decentralml devnode``; also runs on its own as
``python -m decentralml.devnode``. The endpoint and the funded dev accounts go
to stderr; the process serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Annotated, NamedTuple, Optional

import typer

from decentralml.cli import prompts
from decentralml.cli.bounded import COUNT_MAX, finite_float, uint
from decentralml.cli.handler import CliApp
from decentralml.cli.paths import path_parameter
from decentralml.devnode.limits import MIB, RpcLimits, RpcMethodsPolicy, parse_cors
from decentralml.devnode.node import DEFAULT_FINALITY_DELAY, DEFAULT_FINALITY_LAG
from decentralml.errors import ConfigError, UsageError
from decentralml.primitives.scale import U16_MAX

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9944
DEV_ACCOUNTS = ("Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie")
DEFAULT_STATE_PRUNING = 256  # as a Substrate node


class Pruning(NamedTuple):
    """Blocks whose state / body the node keeps; None keeps all (archive)."""

    state: int | None
    blocks: int | None


def parse_pruning(text: str, option: str) -> int | None:
    """``archive``/``archive-canonical`` -> None (keep all), a positive integer -> that many blocks."""
    value = text.strip().lower()
    if value in ("archive", "archive-canonical"):
        return None
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise UsageError(f"{option} {text!r} is neither a number of blocks (1 or more) nor 'archive'.", hint=f"Pass e.g. {option} 256.")

app = CliApp(
    name="devnode",
    help="Run a local DecentralML dev chain (instant seal, funded dev accounts) or purge its data.",
    invoke_without_command=True,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def default_base_path() -> Path:
    """The base path used without --base-path/--tmp: the user data dir."""
    import platformdirs

    return Path(platformdirs.user_data_path("decentralml")) / "devnode"


@app.callback(invoke_without_command=True)
def run(
    ctx: typer.Context,
    tmp: bool = typer.Option(False, "--tmp", help="Throwaway chain in a temporary directory, deleted on exit."),
    base_path: Annotated[Optional[Path], path_parameter(
        "--base-path", "-d", help="Directory for the chain data (default: the user data dir)."
    )] = None,
    rpc_port: Annotated[int, uint(U16_MAX, "JSON-RPC port (WebSocket and HTTP); 0 lets the system pick one.", "--rpc-port")] = DEFAULT_PORT,
    rpc_host: str = typer.Option(DEFAULT_HOST, "--rpc-host", help="Interface to listen on."),
    block_time: Annotated[Optional[float], finite_float(
        "Seal a block every SECONDS instead of one block per transaction.", "--block-time", minimum=0.001)] = None,
    state_pruning: str = typer.Option(
        str(DEFAULT_STATE_PRUNING), "--state-pruning",
        help="Keep the state of the last N blocks, or 'archive' for every block (queries at older blocks fail as on a Substrate node).",
    ),
    blocks_pruning: str = typer.Option(
        "archive-canonical", "--blocks-pruning",
        help="Keep the bodies of the last N blocks, or 'archive'/'archive-canonical' for all (headers are always kept).",
    ),
    finality_lag: Annotated[int, uint(
        COUNT_MAX, "With --block-time: finality trails the best block by this many blocks.", "--finality-lag")] = DEFAULT_FINALITY_LAG,
    finality_delay: Annotated[float, finite_float(
        "Instant seal: seconds between a block's import and its finality.", "--finality-delay", minimum=0.0)] = DEFAULT_FINALITY_DELAY,
    rpc_max_request_size: Annotated[int, uint(
        COUNT_MAX, "Largest request, in MiB.", "--rpc-max-request-size", minimum=1)] = RpcLimits.max_request_bytes // MIB,
    rpc_max_response_size: Annotated[int, uint(
        COUNT_MAX, "Largest response, in MiB.", "--rpc-max-response-size", minimum=1)] = RpcLimits.max_response_bytes // MIB,
    rpc_max_connections: Annotated[int, uint(
        COUNT_MAX, "Most WebSocket connections served at once; more are answered HTTP 429 (docs/devnode.md).",
        "--rpc-max-connections", minimum=1)] = RpcLimits.max_connections,
    rpc_max_subscriptions: Annotated[int, uint(
        COUNT_MAX, "Most subscriptions per connection.", "--rpc-max-subscriptions-per-connection", minimum=1,
    )] = RpcLimits.max_subscriptions_per_connection,
    rpc_max_batch_len: Annotated[Optional[int], uint(
        COUNT_MAX, "Longest batch (default: no limit).", "--rpc-max-batch-request-len", minimum=1)] = None,
    rpc_cors: Optional[str] = typer.Option(
        None, "--rpc-cors", help="Browser origins allowed: comma-separated, or `all` (default: localhost and polkadot.js.org)."
    ),
    rpc_methods: RpcMethodsPolicy = typer.Option(
        RpcMethodsPolicy.AUTO, "--rpc-methods", help="`unsafe` allows dev_* methods; `auto`: unsafe only with --tmp."
    ),
    debug: bool = typer.Option(False, "--debug", envvar="DECENTRALML_DEBUG", help="Show tracebacks."),
) -> None:
    """Start the dev node (default action)."""
    if ctx.invoked_subcommand is not None:
        return
    pruning = Pruning(parse_pruning(state_pruning, "--state-pruning"), parse_pruning(blocks_pruning, "--blocks-pruning"))
    if tmp and base_path is not None:
        raise UsageError("--tmp and --base-path exclude each other.", hint="Pass only one of them.")
    finality = (finality_lag, finality_delay)
    limits = RpcLimits(
        max_request_bytes=rpc_max_request_size * MIB,
        max_response_bytes=rpc_max_response_size * MIB,
        max_connections=rpc_max_connections,
        max_subscriptions_per_connection=rpc_max_subscriptions,
        max_batch_len=rpc_max_batch_len,
        cors=parse_cors(rpc_cors),
        unsafe_methods=rpc_methods == RpcMethodsPolicy.UNSAFE or (rpc_methods == RpcMethodsPolicy.AUTO and tmp),
    )
    if tmp:
        directory = Path(tempfile.mkdtemp(prefix="decentralml-devnode-"))
        try:
            asyncio.run(_serve(directory, rpc_host, rpc_port, block_time, finality, limits, pruning, temporary=True))
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    else:
        asyncio.run(_serve(base_path or default_base_path(), rpc_host, rpc_port, block_time, finality, limits, pruning, temporary=False))


@app.command()
def purge(
    base_path: Annotated[Optional[Path], path_parameter("--base-path", "-d", help="Base path whose chain data to delete.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the chain data of a base path (blocks and state)."""
    from decentralml.devnode.store import chain_dir
    from decentralml.devnode.store import purge as purge_chain

    target = base_path or default_base_path()
    if not chain_dir(target).exists():
        typer.echo(f"No chain data in {target}.", err=True)
        return
    if not yes and not prompts.confirm(f"Delete the dev chain data in {chain_dir(target)}?", instead="Rerun with --yes."):
        typer.echo("Nothing deleted.", err=True)
        raise typer.Exit(1)
    purge_chain(target)
    typer.echo(f"Deleted the dev chain data in {chain_dir(target)}.", err=True)


async def _serve(
    base_path: Path,
    host: str,
    port: int,
    block_time: float | None,
    finality: tuple[int, float],
    limits: RpcLimits,
    pruning: Pruning,
    *,
    temporary: bool,
) -> None:
    from decentralml.devnode.node import DevNode
    from decentralml.devnode.runtime import Runtime
    from decentralml.devnode.server import serve
    from decentralml.devnode.store import ChainStore

    try:
        runtime = Runtime()
    except Exception as exc:  # a broken installation: missing or unreadable packaged artifacts
        raise ConfigError(f"The dev node runtime cannot start: {exc}") from None
    store = ChainStore.open(base_path)
    try:
        node = DevNode(
            runtime, store, block_time=block_time, finality_lag=finality[0], finality_delay=finality[1],
            state_pruning=pruning.state, blocks_pruning=pruning.blocks,
        )
        node.start()
        try:
            runner, endpoint = await serve(node, host, port, limits)
        except OSError as exc:
            raise UsageError(
                f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
                hint=(
                    "Stop the other process using the port or pass --rpc-port."
                    if exc.errno == errno.EADDRINUSE
                    else "Pass an address of this machine as --rpc-host (e.g. 127.0.0.1)."
                ),
            ) from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        producer = asyncio.create_task(node.run())
        where = f"{base_path} (temporary, deleted on exit)" if temporary else str(store.path.parent)
        _announce(node, endpoint.ws_url, endpoint.http_url, where, block_time, finality)
        if host not in ("127.0.0.1", "localhost", "::1"):
            typer.echo(
                f"Warning: the dev node listens on {host}: anyone who can reach it can submit with the dev keys.",
                err=True,
            )
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({producer, stopper}, return_when=asyncio.FIRST_COMPLETED)
        node.stop()
        stopper.cancel()
        await runner.cleanup()
        with contextlib.suppress(asyncio.CancelledError):
            await producer  # re-raises a store failure
        typer.echo("Dev node stopped.", err=True)
    finally:
        store.close()


def dev_accounts() -> list[tuple[str, str, bytes]]:
    """(name, SS58 address, account id) of //Alice..//Ferdie (sr25519), as the genesis funds them."""
    from substrateinterface import Keypair

    accounts = []
    for name in DEV_ACCOUNTS:
        keypair = Keypair.create_from_uri(f"//{name}", ss58_format=42)
        accounts.append((name, keypair.ss58_address, bytes(keypair.public_key)))
    return accounts


def _announce(
    node: object, ws_url: str, http_url: str, data: str, block_time: float | None, finality: tuple[int, float]
) -> None:
    from decentralml.devnode.keys import free_balance
    from decentralml.devnode.node import DevNode

    assert isinstance(node, DevNode)
    properties = node.runtime.properties()
    decimals = int(properties.get("tokenDecimals", 12))
    symbol = str(properties.get("tokenSymbol", "UNIT"))
    best = node.best
    seal = f"one block every {block_time:g} s" if block_time else "instant seal (one block per transaction)"
    keep = node.history.keep
    bodies = node.blocks_pruning
    final = f"finality {finality[0]} block(s) behind" if block_time else f"finalized {finality[1]:g} s after import"
    lines = [
        f"DecentralML dev node: chain Development, genesis 0x{node.genesis_hash.hex()}, best #{best.number}",
        f"  RPC (WebSocket): {ws_url}",
        f"  RPC (HTTP POST): {http_url}",
        f"  chain data:      {data}",
        f"  sealing:         {seal}, {final}",
        f"  pruning:         state of {'every block (archive)' if keep is None else f'the last {keep} blocks'},"
        f" bodies of {'every block' if bodies is None else f'the last {bodies} blocks'}",
        "  dev accounts (sr25519 //Name; //Alice is sudo):",
    ]
    view = node.view(best.number)
    for name, address, account in dev_accounts():
        free = free_balance(view, account)
        whole, frac = divmod(free, 10**decimals)
        amount = f"{whole}.{str(frac).rjust(decimals, '0').rstrip('0') or '0'} {symbol}"
        sudo = "  (sudo)" if name == "Alice" else ""
        lines.append(f"    //{name:<8} {address}  {amount}{sudo}")
    lines.append("Press Ctrl-C to stop.")
    typer.echo("\n".join(lines), err=True)


def main() -> None:
    """Entry point of ``python -m decentralml.devnode``."""
    try:
        app(prog_name="decentralml devnode")
    except KeyboardInterrupt:
        sys.exit(130)
