"""Helpers shared by the command modules: chain, signer, stores, rendering."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional
from urllib.parse import unquote, urlsplit

import typer

from decentralml.amounts import TokenInfo, format_amount
from decentralml.chain.client import ChainClient
from decentralml.chain.pallet import MAX_ASSIGNMENTS, MAX_BLOCK_NUMBER, MAX_SUBMISSION_ID, MAX_TASK_ID
from decentralml.chain.signer import keypair_from_suri
from decentralml.chain.types import Receipt
from decentralml.cli import prompts
from decentralml.cli.bounded import SIZE_MAX, amount, uint
from decentralml.cli.context import RunContext, run_context
from decentralml.cli.paths import path_parameter
from decentralml.config import Settings
from decentralml.errors import ConfigError, UsageError
from decentralml.keystore import Keystore
from decentralml.primitives.keypair import Keypair
from decentralml.primitives.localpaths import local_paths
from decentralml.storage.base import ArtifactStore, TransferObserver
from decentralml.storage.reference import Reference

if TYPE_CHECKING:
    from decentralml.usecases.contributor import StoreOpener

# --- on-chain values: each bounded by its on-chain type as the command line is parsed (cli/bounded.py) ---


def task_id_argument(help: str = "Task id.") -> Any:
    """A ``TASK_ID`` argument: ``0..=MAX_TASK_ID`` (``TaskId`` is a u64)."""
    return uint(MAX_TASK_ID, help)


def submission_id_argument(help: str = "Submission id.") -> Any:
    """A ``SUBMISSION_ID`` argument: ``0..=MAX_SUBMISSION_ID`` (``SubmissionId`` is a u64)."""
    return uint(MAX_SUBMISSION_ID, help)


TaskIdArg = Annotated[int, task_id_argument()]
SubmissionIdArg = Annotated[int, submission_id_argument()]
MaxAssignmentsOpt = Annotated[
    int, uint(MAX_ASSIGNMENTS, "Number of results wanted (1 to the chain's MaxAssignmentsPerTask).", "--max-assignments", minimum=1)
]
#: Blocks from now: the sum with the current block must stay a block number (checked with it, by the use case).
ExpiresInOpt = Annotated[int, uint(MAX_BLOCK_NUMBER, "Blocks until the task expires.", "--expires-in", minimum=1)]
RewardOpt = Annotated[str, amount("Reward per accepted result: '10 UNIT', '0.5' or '5000planck'.", "--reward")]
MaxDownloadOpt = Annotated[
    Optional[int],
    uint(SIZE_MAX, "Largest download accepted, in bytes (default: a result at most 4x the base model, a bundle 1 GiB).",
         "--max-download-bytes", minimum=1),
]

# --- chain and signer ---------------------------------------------------------


@contextlib.contextmanager
def chain_client(run: RunContext) -> Iterator[ChainClient]:
    """A connected client for this run, closed afterwards."""
    with run.output.status(f"Connecting to {run.settings.url}..."):
        client = ChainClient.connect(run.settings.url, timeout=run.settings.timeout, cache_dir=run.settings.runtime_cache_dir)
    client.wait_indicator = run.output.status
    try:
        yield client
    finally:
        client.close()


def keystore(settings: Settings) -> Keystore:
    return Keystore(settings.keystore_dir)


def resolve_signer(run: RunContext) -> Keypair:
    """The keypair from --suri, else from the keystore account (--account / config)."""
    settings = run.settings
    if settings.suri:
        return keypair_from_suri(settings.suri, settings.crypto)
    if settings.account:
        store = keystore(settings)
        entry = store.get(settings.account)
        password = settings.password
        if password is None:
            password = prompts.secret(f"Password for {entry.name}", instead="Set DECENTRALML_PASSWORD.")
        return keypair_from_suri(store.unlock(entry.name, password), entry.crypto)
    raise ConfigError(
        "No signer: this command signs a transaction.",
        hint="Pass --suri (or DECENTRALML_SURI) or --account NAME (see `decentralml account new`).",
    )


def account_address(run: RunContext, needed_for: str) -> str:
    """The address of --suri / --account, read without signing anything; ConfigError when neither is set."""
    address = signer_address(run)
    if address is None:
        raise ConfigError(
            f"No account: {needed_for}.",
            hint="Pass --suri (or DECENTRALML_SURI) or --account NAME (see `decentralml account new`).",
        )
    return address


def signer_address(run: RunContext) -> str | None:
    """The signer's address without a password prompt when possible, or None."""
    settings = run.settings
    if settings.suri:
        return keypair_from_suri(settings.suri, settings.crypto).ss58_address
    if settings.account:
        return keystore(settings).get(settings.account).address
    return None


def exclusive(*options: tuple[str, Any]) -> None:
    """Refuse (UsageError, exit 2) more than one of alternative options: ``(name, value)`` pairs,
    an option given when its value is neither None nor False."""
    given = [name for name, value in options if value is not None and value is not False]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} are alternatives: pass only one of them.")


def require_path(path: Path, *, directory: bool = False) -> Path:
    """UsageError (exit 2) unless ``path`` exists (and is a directory if asked)."""
    from decentralml.errors import UsageError
    from decentralml.untrusted import clip

    with local_paths(path):
        exists, is_dir = path.exists(), path.is_dir()
    if not exists:
        raise UsageError(f"{clip(path)} does not exist.", hint="Check the path.")
    if directory and not is_dir:
        raise UsageError(f"{clip(path)} is not a directory.", hint="Pass a directory.")
    return path


# --- storage ------------------------------------------------------------------

StorageOpt = Annotated[
    Optional[str],
    typer.Option("--storage", envvar="DECENTRALML_STORAGE", help="Where to upload: local, s3, ipfs, file:///dir or s3://bucket/prefix."),
]
DataDirOpt = Annotated[
    Optional[Path],
    path_parameter("--data-dir", envvar="DECENTRALML_STORE_DIR", help="Local store directory (default: <user data dir>/store)."),
]
S3EndpointOpt = Annotated[
    Optional[str], typer.Option("--s3-endpoint-url", envvar="DECENTRALML_S3_ENDPOINT_URL", help="S3-compatible endpoint (MinIO).")
]
S3BucketOpt = Annotated[Optional[str], typer.Option("--s3-bucket", envvar="DECENTRALML_S3_BUCKET", help="S3 bucket for uploads.")]
S3PrefixOpt = Annotated[Optional[str], typer.Option("--s3-prefix", envvar="DECENTRALML_S3_PREFIX", help="Key prefix in the bucket.")]
S3RegionOpt = Annotated[Optional[str], typer.Option("--s3-region", envvar="DECENTRALML_S3_REGION", help="S3 region.")]
S3ProfileOpt = Annotated[
    Optional[str], typer.Option("--s3-profile", envvar="DECENTRALML_S3_PROFILE", help="Profile of the shared AWS files.")
]
IpfsApiOpt = Annotated[
    Optional[str], typer.Option("--ipfs-api", envvar="DECENTRALML_IPFS_API", help="Kubo RPC API URL (default http://127.0.0.1:5001).")
]


@dataclass(frozen=True)
class StorageChoice:
    """Storage options of one command, merged with the config's [storage] table."""

    kind: str
    data_dir: Path | None
    data_dir_explicit: bool
    s3_endpoint_url: str | None
    s3_bucket: str | None
    s3_prefix: str | None
    s3_region: str | None
    s3_profile: str | None
    ipfs_api: str | None


def storage_choice(
    settings: Settings,
    *,
    storage: str | None,
    data_dir: Path | None,
    s3_endpoint_url: str | None,
    s3_bucket: str | None,
    s3_prefix: str | None,
    s3_region: str | None,
    s3_profile: str | None,
    ipfs_api: str | None,
) -> StorageChoice:
    cfg = settings.storage

    def pick(value: Any, key: str) -> Any:
        return value if value is not None else cfg.get(key)

    configured_dir = pick(data_dir, "data_dir") or pick(None, "root")
    return StorageChoice(
        kind=str(pick(storage, "backend") or "local"),
        data_dir=Path(str(configured_dir)).expanduser() if configured_dir else None,
        data_dir_explicit=configured_dir is not None,
        s3_endpoint_url=pick(s3_endpoint_url, "s3_endpoint_url"),
        s3_bucket=pick(s3_bucket, "s3_bucket"),
        s3_prefix=pick(s3_prefix, "s3_prefix"),
        s3_region=pick(s3_region, "s3_region"),
        s3_profile=pick(s3_profile, "s3_profile"),
        ipfs_api=pick(ipfs_api, "ipfs_api"),
    )


# Storage options in the order they appear in --help; the second field says whether
# download-only commands omit the option (they take it from the config alone).
_STORAGE_OPTIONS: tuple[tuple[str, Any, bool], ...] = (
    ("storage", StorageOpt, True),
    ("data_dir", DataDirOpt, False),
    ("s3_endpoint_url", S3EndpointOpt, False),
    ("s3_bucket", S3BucketOpt, True),
    ("s3_prefix", S3PrefixOpt, True),
    ("s3_region", S3RegionOpt, False),
    ("s3_profile", S3ProfileOpt, False),
    ("ipfs_api", IpfsApiOpt, False),
)


def storage_options(*, upload: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the storage options and hand it one merged ``StorageChoice``.

    The command declares ``ctx: typer.Context`` and ``choice: StorageChoice`` instead of
    the eight options. The decorator rebuilds ``__signature__`` (which Typer reads) with
    ``choice`` removed and the options appended last; the wrapper pops their values and
    passes ``choice=storage_choice(settings, ...)``. ``upload=False`` is for commands that
    only download: they omit --storage, --s3-bucket and --s3-prefix (config values still
    apply), since a download's store follows the reference being fetched.
    """
    options = [(name, hint) for name, hint, upload_only in _STORAGE_OPTIONS if upload or not upload_only]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        params = [p for name, p in signature.parameters.items() if name != "choice"]
        params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=hint) for name, hint in options]

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name, None) for name, _, _ in _STORAGE_OPTIONS}
            kwargs["choice"] = storage_choice(run_context(kwargs["ctx"]).settings, **values)
            return command(*args, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _store_settings(settings: Settings, choice: StorageChoice, data_dir: Path | None = None) -> Any:
    from decentralml.storage.factory import StoreSettings

    kwargs: dict[str, Any] = {
        "data_dir": data_dir or choice.data_dir or settings.data_dir / "store",
        "s3_bucket": choice.s3_bucket,
        "s3_endpoint_url": choice.s3_endpoint_url,
        "s3_region": choice.s3_region,
        "s3_profile": choice.s3_profile,
        "timeout": settings.timeout,
        "ipfs_auth": settings.ipfs_auth,
    }
    if choice.s3_prefix is not None:
        kwargs["s3_prefix"] = choice.s3_prefix
    if choice.ipfs_api is not None:
        kwargs["ipfs_api"] = choice.ipfs_api
    return StoreSettings(**kwargs)


def upload_store(settings: Settings, choice: StorageChoice) -> ArtifactStore:
    """The store uploads go to."""
    from decentralml.storage.factory import open_store

    return open_store(choice.kind, _store_settings(settings, choice))


def _local_root(uri: str) -> Path | None:
    """``file:///X/{files,dirs}/<hex>[/]`` -> X (where the local store lives)."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    path = Path(unquote(parts.path.rstrip("/")))
    if path.parent.name in ("files", "dirs"):
        return path.parent.parent
    return None


def download_opener(settings: Settings, choice: StorageChoice) -> StoreOpener:
    """A StoreOpener: the store able to fetch a given reference."""
    from decentralml.storage.factory import store_for
    from decentralml.storage.reference import StorageType

    def open_for(ref: Reference) -> ArtifactStore:
        data_dir = None
        if ref.storage_type is StorageType.LOCAL and not choice.data_dir_explicit:
            data_dir = _local_root(ref.uri)
        return store_for(ref, _store_settings(settings, choice, data_dir))

    return open_for


def transfer_observer(run: RunContext) -> TransferObserver:
    """The storage layer's progress bars on stderr (none with --json/--quiet)."""
    from decentralml.storage.progress import transfer_progress

    if run.output.quiet:
        from decentralml.storage.base import NullObserver

        return NullObserver()
    return transfer_progress(run.output.err, json_output=run.output.json_mode)


# --- rendering helpers ----------------------------------------------------------


def amount_json(planck: int, token: TokenInfo) -> dict[str, Any]:
    """An amount in JSON: planck as a string (u128 safe) and the formatted text."""
    return {"planck": str(planck), "formatted": format_amount(planck, token)}


def receipt_json(receipt: Receipt) -> dict[str, Any]:
    return {
        "extrinsic_hash": receipt.extrinsic_hash,
        "block_hash": receipt.block_hash,
        "block_number": receipt.block_number,
        "fee": str(receipt.fee) if receipt.fee is not None else None,
        "events": receipt.event_names(),
    }


def short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
