"""The pallet-spec runtime's generated artifacts, packaged in ``decentralml.devnode.metadata``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

# Normative runtime parameters that the metadata does not carry
# (pallet-spec/runtime/src/lib.rs and weights.rs).
TRANSACTION_BYTE_FEE = 1_000_000
TIMESTAMP_SET_WEIGHT = 10_000_000
TIMESTAMP_ON_FINALIZE_WEIGHT = 5_000_000

METADATA_V14 = "metadata_v14.scale"
METADATA_V15 = "metadata_v15.scale"
RUNTIME_VERSION = "runtime_version.json"
GENESIS = "genesis.json"


class ArtifactError(RuntimeError):
    """The packaged artifacts are missing or malformed (a broken installation)."""


def _hex(value: str) -> bytes:
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


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
            genesis_storage={_hex(k): _hex(v) for k, v in storage.items()},
            genesis_accounts=list(genesis.get("accounts", [])),
            sudo_key=genesis.get("sudo_key"),
        )
