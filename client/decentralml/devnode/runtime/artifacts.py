"""The pallet-spec runtime's generated artifacts, packaged in ``decentralml.devnode.metadata``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from decentralml.primitives.hashing import blake2_256

# Normative runtime parameters that the metadata does not carry
# (pallet-spec/runtime/src/lib.rs and weights.rs).
TRANSACTION_BYTE_FEE = 1_000_000
TIMESTAMP_SET_WEIGHT = 10_000_000
TIMESTAMP_ON_FINALIZE_WEIGHT = 5_000_000

METADATA_V14 = "metadata_v14.scale"
METADATA_V15 = "metadata_v15.scale"
RUNTIME_VERSION = "runtime_version.json"
GENESIS = "genesis.json"


# The runtime blob is at most this large (the compact, compressed blob is about 0.4 MB).
MAX_CODE_BYTES = 16 * 1024 * 1024


class ArtifactError(RuntimeError):
    """The packaged artifacts are missing or malformed (a broken installation)."""


def _hex(value: str) -> bytes:
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


def load_file_value(entry: dict, read: Callable[[str], bytes]) -> bytes:
    """The bytes of a storage value that pallet-spec names by file instead of spelling out.

    ``entry`` is ``{"file": name, "length": n, "blake2_256": "0x..."}`` (how
    ``genesis.json`` and the vectors write ``:code``, the runtime's WebAssembly blob);
    ``read(name)`` returns the file's bytes. Raises ArtifactError when the file is
    missing, too large or not the one named (length or blake2-256 differ).
    """
    try:
        name, length, digest = str(entry["file"]), int(entry["length"]), _hex(str(entry["blake2_256"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"malformed file reference in the runtime artifacts: {exc}") from exc
    if not 0 <= length <= MAX_CODE_BYTES or "/" in name or name.startswith("."):
        raise ArtifactError(f"the runtime artifacts name an invalid file ({name!r}, {length} bytes)")
    try:
        data = read(name)
    except OSError as exc:
        raise ArtifactError(f"the runtime blob {name} is missing ({exc}); reinstall decentralml") from exc
    if len(data) != length or blake2_256(data) != digest:
        raise ArtifactError(
            f"the runtime blob {name} is not the one genesis names "
            f"({len(data)} bytes, blake2-256 0x{blake2_256(data).hex()}); reinstall decentralml"
        )
    return data


def storage_value(value: str | dict, read: Callable[[str], bytes]) -> bytes:
    """A storage value of genesis.json or a vector: hex, or a file reference (``:code``)."""
    return load_file_value(value, read) if isinstance(value, dict) else _hex(value)


@dataclass(frozen=True)
class Artifacts:
    metadata_v14: bytes
    metadata_v15: bytes
    runtime_version: dict
    genesis_storage: dict[bytes, bytes]
    genesis_accounts: list = field(default_factory=list)  # [{account_id, free, name, ss58}]
    sudo_key: str | None = None
    transaction_byte_fee: int = TRANSACTION_BYTE_FEE
    timestamp_set_weight: int = TIMESTAMP_SET_WEIGHT
    timestamp_on_finalize_weight: int = TIMESTAMP_ON_FINALIZE_WEIGHT

    @classmethod
    def load(cls, read: Callable[[str], bytes]) -> Artifacts:
        try:
            v14 = read(METADATA_V14)
            v15 = read(METADATA_V15)
            version = json.loads(read(RUNTIME_VERSION))
            genesis = json.loads(read(GENESIS))
        except (OSError, ValueError) as exc:
            raise ArtifactError(
                f"the dev node's runtime artifacts are missing or unreadable ({exc}); reinstall decentralml"
            ) from exc
        storage = genesis.get("storage", genesis)
        if isinstance(storage, dict) and "top" in storage:
            storage = storage["top"]
        return cls(
            metadata_v14=v14,
            metadata_v15=v15,
            runtime_version=version,
            genesis_storage={_hex(k): storage_value(v, read) for k, v in storage.items()},
            genesis_accounts=list(genesis.get("accounts", [])),
            sudo_key=genesis.get("sudo_key"),
        )
