"""Settings of one CLI run: built when a command runs, never at import.

Precedence, highest first: command-line option, environment variable (Typer's
``envvar=``), the config file, the built-in default. The config file is TOML in
the user's config directory (``decentralml config-path`` prints it), e.g.::

    url = "ws://127.0.0.1:9944"
    account = "creator"        # default keystore account
    crypto = "sr25519"
    timeout = 60               # seconds to wait for a transaction's inclusion
    work_dir = "~/decentralml-work"

    [storage]                  # passed to the storage layer for uploads/downloads
    backend = "local"
    data_dir = "~/decentralml-store"

Secrets come from the environment only when possible: DECENTRALML_PASSWORD
(keystore) and DECENTRALML_IPFS_AUTH (``bearer:<token>`` for a Kubo API with
authorizations; ``ipfs_auth`` in [storage] also works).
"""

from __future__ import annotations

import enum
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import platformdirs

from decentralml.errors import ConfigError
from decentralml.primitives.numbers import ascii_float

APP_NAME = "decentralml"
DEFAULT_URL = "ws://127.0.0.1:9944"
DEFAULT_TIMEOUT_S = 60.0
#: The longest timeout accepted, in seconds (a day): longer waits overflow the clocks they are passed to.
TIMEOUT_MAX_S = 86_400.0
#: The shortest timeout accepted, in seconds, from the command line, the environment or the config file.
TIMEOUT_MIN_S = 0.1


class CryptoType(str, enum.Enum):
    """Signature schemes a secret URI can be read with."""

    SR25519 = "sr25519"
    ED25519 = "ed25519"
    ECDSA = "ecdsa"


def default_config_path() -> Path:
    """The config file in the user's config directory."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_data_dir() -> Path:
    """The user's data directory (keystore, local artifact store)."""
    return Path(platformdirs.user_data_dir(APP_NAME))


def load_config_file(path: Path, *, required: bool = False) -> dict[str, Any]:
    """Read the TOML config file; a missing file is an empty config unless ``required``
    (a file named by --config), then a ConfigError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError(
                f"The config file {path} does not exist.",
                hint="Check the --config path, or leave it out to use the default config file.",
            ) from None
        return {}
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc.strerror}.") from exc
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The config file {path} is not valid TOML: {exc}.", hint="Fix or remove it.") from exc


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about this run."""

    url: str = DEFAULT_URL
    suri: str | None = field(default=None, repr=False)
    crypto: CryptoType = CryptoType.SR25519
    account: str | None = None
    password: str | None = field(default=None, repr=False)
    json: bool = False
    debug: bool = False
    quiet: bool = False
    timeout: float = DEFAULT_TIMEOUT_S
    config_path: Path = field(default_factory=default_config_path)
    data_dir: Path = field(default_factory=default_data_dir)
    work_dir: Path = field(default_factory=lambda: Path.cwd() / "decentralml-work")
    storage: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    ipfs_auth: str | None = field(default=None, repr=False)

    @property
    def keystore_dir(self) -> Path:
        """Where the encrypted keystore files live."""
        return self.data_dir / "keystore"

    @property
    def runtime_cache_dir(self) -> Path:
        """Where the runtime types decoded from a node's metadata are cached (JSON, one file per runtime)."""
        return self.data_dir / "runtime-cache"


def read_suri(suri: str | None, suri_file: Path | None, stdin: Any = None) -> str | None:
    """The secret URI from ``--suri``, ``--suri -`` (first line of ``stdin``) or ``--suri-file PATH``.

    A file or standard input keeps the secret out of the process list and the shell history.
    Raises ConfigError when both are given or the file cannot be read or is empty.
    """
    if suri is not None and suri_file is not None:
        raise ConfigError("--suri and --suri-file exclude each other.", hint="Pass only one of them.")
    if suri_file is not None:
        try:
            text = suri_file.expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"Cannot read the secret URI file {suri_file}: {exc.strerror}.") from None
        source = str(suri_file)
    elif suri == "-":
        import sys

        text = (stdin or sys.stdin).readline()
        source = "standard input"
    else:
        return suri
    value = text.strip()
    if not value:
        raise ConfigError(f"No secret URI in {source}.", hint="Put the mnemonic, 0x seed or //Name on its first line.")
    return value


def exposed_secret_file(path: Path) -> str | None:
    """A one-line warning when ``path`` (a secret URI file) is readable by its group or others, else None.

    As ssh does for a private key, but a warning: the file is still used.
    """
    import stat

    try:
        mode = path.expanduser().stat().st_mode
    except OSError:
        return None  # read_suri reports an unreadable file
    if not mode & (stat.S_IRWXG | stat.S_IRWXO):
        return None
    return (f"the secret URI file {path} is accessible by others (permissions {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}")


def _pick(cli_value: Any, config: Mapping[str, Any], key: str, default: Any) -> Any:
    if cli_value is not None:
        return cli_value
    return config.get(key, default)


def build_settings(
    *,
    url: str | None,
    suri: str | None,
    crypto: str | None,
    account: str | None,
    json_output: bool,
    debug: bool,
    quiet: bool,
    config_path: Path | None,
    environ: Mapping[str, str],
    config_required: bool = False,
    timeout: float | None = None,
    suri_file: Path | None = None,
) -> Settings:
    """Merge options (already merged with env vars by Typer) with the config file.

    The config file is ``config_path`` (``--config``: it must exist when ``config_required``), else
    ``DECENTRALML_CONFIG`` from ``environ`` (a file that does not exist yet is an empty config),
    else the default. Raises ConfigError for a missing required file or an invalid setting.
    """
    path = config_path or (Path(environ["DECENTRALML_CONFIG"]) if environ.get("DECENTRALML_CONFIG") else None) \
        or default_config_path()
    config = load_config_file(path, required=config_required)
    crypto_name = str(_pick(crypto, config, "crypto", CryptoType.SR25519.value)).lower()
    try:
        crypto_type = CryptoType(crypto_name)
    except ValueError:
        raise ConfigError(
            f"Unknown crypto type {crypto_name!r}.", hint="Use sr25519, ed25519 or ecdsa."
        ) from None
    raw_timeout = timeout if timeout is not None else config.get("timeout", DEFAULT_TIMEOUT_S)
    try:
        if isinstance(raw_timeout, bool) or not isinstance(raw_timeout, (int, float, str)):
            raise ValueError(raw_timeout)
        timeout = ascii_float(raw_timeout) if isinstance(raw_timeout, str) else float(raw_timeout)
    except ValueError:
        raise ConfigError(f"'timeout' in {path} must be a number of seconds.") from None
    if not (math.isfinite(timeout) and TIMEOUT_MIN_S <= timeout <= TIMEOUT_MAX_S):
        raise ConfigError(
            f"The timeout must be a number of seconds from {TIMEOUT_MIN_S:g} to {TIMEOUT_MAX_S:g}, not {raw_timeout!r}.",
            hint=f"Fix 'timeout' in {path}.",
        )
    storage = config.get("storage", {})
    if not isinstance(storage, dict):
        raise ConfigError(f"[storage] in {path} must be a table.")
    data_dir = Path(str(config["data_dir"])).expanduser() if "data_dir" in config else None
    data_dir = Path(environ["DECENTRALML_DATA_DIR"]).expanduser() if environ.get("DECENTRALML_DATA_DIR") else data_dir
    work_dir = Path(str(config["work_dir"])).expanduser() if "work_dir" in config else Path.cwd() / "decentralml-work"
    return Settings(
        url=str(_pick(url, config, "url", DEFAULT_URL)),
        suri=read_suri(suri, suri_file),
        crypto=crypto_type,
        account=_pick(account, config, "account", None),
        password=environ.get("DECENTRALML_PASSWORD"),
        json=json_output,
        debug=debug,
        quiet=quiet,
        timeout=timeout,
        config_path=path,
        data_dir=data_dir or default_data_dir(),
        work_dir=work_dir,
        storage=MappingProxyType({k: v for k, v in storage.items() if k != "ipfs_auth"}),
        ipfs_auth=environ.get("DECENTRALML_IPFS_AUTH") or storage.get("ipfs_auth"),
    )
