"""A chain's runtime types for reading storage, decoded from the metadata once and cached on disk as JSON.

substrate-interface decodes the whole SCALE metadata into scalecodec objects on
every connection (about 13,000 objects: the largest cost of a read command). A
read needs much less: each storage item's key prefix, hashers and key/value
type ids, and the portable type registry to decode values. That is what
:class:`RuntimeTypes` holds; it is written as JSON (data only: loading it
cannot execute code, unlike a pickle) to
``<cache dir>/<genesis hash>-<spec version>-<metadata digest>.json``, so a
runtime upgrade (a new spec version or new metadata) misses the cache and the
new metadata is decoded and cached. The digest is blake2-256 of the raw
metadata the node serves; the cache is checked against it on every connection.

Values decode with decoders compiled once per type from the cached portable
registry (:mod:`decentralml.chain.registry_codec`), in the shape scalecodec
and substrate-interface give them. Map keys of integer, account and
single-field wrapper types are encoded here, others with scalecodec, and
hashed with :mod:`decentralml.primitives.hashing`. Reading needs neither
substrate-interface nor scalecodec's type presets (which import ``requests``):
the cache also holds which scalecodec class each type decodes with, found
once when the metadata is decoded.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decentralml.errors import ChainError
from decentralml.primitives import hashing

CACHE_FORMAT = 2
SS58_FORMAT = 42

Rpc = Callable[[str, list[Any]], Any]
_HASH_FUNCTIONS = {
    "Blake2_128": hashing.blake2_128, "Blake2_256": hashing.blake2_256, "Blake2_128Concat": hashing.blake2_128_concat,
    "Twox128": hashing.twox_128, "Twox64Concat": hashing.twox_64_concat, "Identity": hashing.identity,
}  # fmt: skip
_UNSIGNED_SIZES = {"U8": 1, "U16": 2, "U32": 4, "U64": 8, "U128": 16}


@dataclass(frozen=True)
class StorageEntry:
    """One storage item: hex key prefix, a hasher and a key type id per map key, the value type id."""

    prefix: str
    hashers: tuple[str, ...]
    key_types: tuple[int, ...]
    value_type: int
    default: str | None  # hex of the default value when the item has one (ValueQuery), else None


class _Registered:
    """A read-only stand-in for a scalecodec registry object: ``obj["field"]`` and ``obj.value`` over plain JSON."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __getitem__(self, key: Any) -> "_Registered":
        return _Registered(self.value[key])

    def get(self, key: Any, default: Any = None) -> Any:
        return self.value.get(key, default)


class RuntimeTypes:
    """Storage entries and value decoding of one runtime (one genesis, spec version and metadata)."""

    def __init__(
        self, registry: Sequence[Mapping[str, Any]], storage: Mapping[str, StorageEntry], classes: Mapping[int, str]
    ) -> None:
        from decentralml.chain.registry_codec import RegistryDecoders

        self.registry = list(registry)
        self.storage = dict(storage)
        self.classes = dict(classes)
        self._types_by_id = {int(t["id"]): t["type"] for t in self.registry}
        self._scalecodec: Any = None
        self._decoders = RegistryDecoders(self.registry, self._class_name, self._scalecodec_decode, SS58_FORMAT)

    @staticmethod
    def _scalecodec_config(registry: Sequence[Mapping[str, Any]]) -> Any:
        """scalecodec's runtime configuration for this registry (its type presets import requests: only when needed)."""
        from scalecodec.base import RuntimeConfigurationObject
        from scalecodec.type_registry import load_type_registry_preset

        config = RuntimeConfigurationObject(ss58_format=SS58_FORMAT, implements_scale_info=True)
        config.update_type_registry(load_type_registry_preset(name="core"))
        config.update_from_scale_info_types([_Registered(t) for t in registry])
        return config

    @property
    def _config(self) -> Any:
        if self._scalecodec is None:
            self._scalecodec = self._scalecodec_config(self.registry)
        return self._scalecodec

    def _class_name(self, type_id: int) -> str:
        """The scalecodec class ``type_id`` decodes with, as found when the metadata was decoded."""
        found = self.classes.get(type_id)
        if found is None:
            raise ChainError(f"Type {type_id} is not in the runtime's type registry.")
        return found

    @staticmethod
    def _classes(config: Any, registry: Sequence[Mapping[str, Any]]) -> dict[int, str]:
        """Type id -> the scalecodec class it decodes with (the registry's own generated classes skipped)."""
        classes = {}
        for t in registry:
            found = config.get_decoder_class(f"scale_info::{t['id']}")
            classes[int(t["id"])] = next(c.__name__ for c in found.__mro__ if not c.__name__.startswith("scale_info::"))
        return classes

    def _scalecodec_decode(self, type_id: int, reader: Any) -> Any:
        from scalecodec.base import ScaleBytes

        item = self._config.create_scale_object(f"scale_info::{type_id}", data=ScaleBytes(reader.data[reader.pos :]))
        value = item.decode(check_remaining=False)
        reader.pos += item.data.offset
        return value

    # -- building ----------------------------------------------------------------

    @classmethod
    def from_metadata(cls, raw: bytes) -> "RuntimeTypes":
        """Decode raw SCALE metadata (V14 or later) the slow way, once."""
        from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
        from scalecodec.type_registry import load_type_registry_preset

        config = RuntimeConfigurationObject(implements_scale_info=True)
        config.update_type_registry(load_type_registry_preset(name="core"))
        metadata = config.create_scale_object("MetadataVersioned", data=ScaleBytes(raw))
        metadata.decode()
        registry = metadata.portable_registry.value["types"]
        by_id = {t["id"]: t["type"] for t in registry}
        storage: dict[str, StorageEntry] = {}
        for pallet in metadata.pallets:
            value = pallet.value
            section = value.get("storage")
            if not section:
                continue
            pallet_hash = hashing.twox_128(section["prefix"].encode())
            for entry in section["entries"]:
                prefix = "0x" + (pallet_hash + hashing.twox_128(entry["name"].encode())).hex()
                kind = entry["type"]
                if "Plain" in kind:
                    hashers: tuple[str, ...] = ()
                    keys: tuple[int, ...] = ()
                    value_type = int(kind["Plain"])
                else:
                    mapping = kind["Map"]
                    hashers = tuple(mapping["hashers"])
                    key = int(mapping["key"])
                    definition = by_id[key]["def"]
                    keys = tuple(int(k) for k in definition["tuple"]) if len(hashers) > 1 else (key,)
                    value_type = int(mapping["value"])
                default = _hex(entry.get("default")) if entry.get("modifier") == "Default" else None
                storage[f"{value['name']}.{entry['name']}"] = StorageEntry(prefix, hashers, keys, value_type, default)
        return cls(registry, storage, cls._classes(cls._scalecodec_config(registry), registry))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CACHE_FORMAT,
            "registry": self.registry,
            "classes": {str(k): v for k, v in self.classes.items()},
            "storage": {
                name: [e.prefix, list(e.hashers), list(e.key_types), e.value_type, e.default] for name, e in self.storage.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RuntimeTypes":
        if data.get("format") != CACHE_FORMAT:
            raise ValueError("unknown cache format")
        storage = {
            name: StorageEntry(str(p), tuple(h), tuple(int(k) for k in keys), int(v), d)
            for name, (p, h, keys, v, d) in data["storage"].items()
        }
        classes = {int(k): str(v) for k, v in data["classes"].items()}
        return cls(data["registry"], storage, classes)

    # -- use -----------------------------------------------------------------------

    def entry(self, module: str, item: str) -> StorageEntry:
        found = self.storage.get(f"{module}.{item}")
        if found is None:
            raise ChainError(f"The node's runtime has no storage item {module}.{item}.", hint="Is --url a DecentralML node?")
        return found

    def storage_key(self, module: str, item: str, params: Sequence[Any] = ()) -> str:
        """Hex key of ``module.item`` for ``params`` (fewer params than map keys: the prefix of those entries)."""
        entry = self.entry(module, item)
        if len(params) > len(entry.hashers):
            raise ChainError(f"{module}.{item} takes at most {len(entry.hashers)} keys, got {len(params)}.")
        key = bytes.fromhex(entry.prefix[2:])
        for param, name, type_id in zip(params, entry.hashers, entry.key_types):
            function = _HASH_FUNCTIONS.get(name)
            if function is None:
                raise ChainError(f"Unsupported storage hasher {name} for {module}.{item}.")
            key += function(self.encode_key(type_id, param))
        return "0x" + key.hex()

    def encode_key(self, type_id: int, param: Any) -> bytes:
        """SCALE bytes of a map key: integers, account ids and hashes here, anything else by scalecodec."""
        kind = self._class_name(type_id)
        if kind in _UNSIGNED_SIZES:
            try:
                return int(param).to_bytes(_UNSIGNED_SIZES[kind], "little")
            except (OverflowError, ValueError, TypeError):
                raise ChainError(f"Not a {kind.lower()} storage key: {param!r}.") from None
        if kind == "GenericAccountId":
            from decentralml.primitives.ss58 import public_key_of

            return public_key_of(param)
        definition = self.registry_type(type_id)["def"]
        fields = definition.get("composite", {}).get("fields", [])
        if kind in ("Tuple", "Struct") and len(fields) == 1:
            return self.encode_key(int(fields[0]["type"]), param)
        return bytes(self._config.create_scale_object(f"scale_info::{type_id}").encode(param).data)

    def registry_type(self, type_id: int) -> Mapping[str, Any]:
        found = self._types_by_id.get(type_id)
        if found is None:
            raise ChainError(f"Type {type_id} is not in the runtime's type registry.")
        return found

    def decode(self, type_id: int, raw_hex: str) -> Any:
        """The value of SCALE ``raw_hex`` as substrate-interface gives it (dicts, strings, ints);
        :class:`~decentralml.primitives.scale.CodecError` (a ValueError) for bytes that are not one such value."""
        return self._decoders.decode(type_id, bytes.fromhex(raw_hex.removeprefix("0x")))

    def value(self, module: str, item: str, raw_hex: str | None) -> Any:
        """A storage value (its default when absent and the item has one, else None)."""
        entry = self.entry(module, item)
        if raw_hex is None:
            if entry.default is None:
                return None
            raw_hex = entry.default
        return self.decode(entry.value_type, raw_hex)


def _hex(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, list)):
        return "0x" + bytes(value).hex()
    text = str(value)  # scalecodec gives Bytes as text when they are valid UTF-8, else as 0x hex
    if text.startswith("0x"):
        try:
            bytes.fromhex(text[2:])
            return text
        except ValueError:
            pass
    return "0x" + text.encode("utf-8").hex()


def cache_path(cache_dir: Path, genesis: str, spec_version: int, digest: bytes) -> Path:
    return cache_dir / f"{genesis.removeprefix('0x')}-{spec_version}-{digest.hex()[:32]}.json"


def load_runtime_types(rpc: Rpc, cache_dir: Path | None) -> RuntimeTypes:
    """The runtime types of the node's best block: from the cache when its key matches, else decoded and cached.

    ``rpc(method, params)`` returns a JSON-RPC result. Three requests: the genesis hash, the runtime version
    and the raw metadata (hashed for the key). A corrupt or foreign cache file is ignored and rewritten.
    """
    genesis = str(rpc("chain_getBlockHash", [0]))
    version = rpc("state_getRuntimeVersion", [])
    raw_hex = str(rpc("state_getMetadata", []))
    raw = bytes.fromhex(raw_hex.removeprefix("0x"))
    digest = hashlib.blake2b(raw, digest_size=32).digest()
    path = cache_path(cache_dir, genesis, int(version["specVersion"]), digest) if cache_dir is not None else None
    if path is not None and path.is_file():
        try:
            return RuntimeTypes.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError, NotImplementedError):
            pass  # rebuilt below
    types = RuntimeTypes.from_metadata(raw)
    if path is not None:
        _write_atomically(path, json.dumps(types.to_json(), separators=(",", ":")))
    return types


def _write_atomically(path: Path, text: str) -> None:
    """Best effort: a cache that cannot be written only costs the next run the decode."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".runtime-", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        pass
