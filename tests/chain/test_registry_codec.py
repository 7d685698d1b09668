"""Compiled registry decoders against scalecodec: every storage value the conformance vectors write,
decoded both ways, must be equal; malformed bytes fail with CodecError."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from scalecodec.base import ScaleBytes

from decentralml.chain.runtime_types import RuntimeTypes
from decentralml.primitives.scale import CodecError

ROOT = Path(__file__).resolve().parents[2]
METADATA = ROOT / "client/decentralml/devnode/metadata/metadata_v14.scale"
VECTORS = sorted((ROOT / "pallet-spec/vectors").glob("*.json"))


@lru_cache(maxsize=1)
def types() -> RuntimeTypes:
    built = RuntimeTypes.from_metadata(METADATA.read_bytes())
    return RuntimeTypes.from_json(json.loads(json.dumps(built.to_json())))  # as read back from the cache


def by_scalecodec(type_id: int, raw_hex: str) -> Any:
    return types()._config.create_scale_object(f"scale_info::{type_id}", data=ScaleBytes(raw_hex)).decode()


def storage_values() -> list[tuple[str, str]]:
    """(storage item, value hex) of every change in every vector, deduplicated."""
    prefixes = {entry.prefix: name for name, entry in types().storage.items()}
    found: dict[tuple[str, str], None] = {}
    for path in VECTORS:
        document = json.loads(path.read_text())
        for step in document.get("steps", []):
            for key, value in (step.get("changes") or {}).items():
                name = prefixes.get(key[:66])
                if name is not None and isinstance(value, str) and value.startswith("0x"):
                    found[(name, value)] = None
    return list(found)


def test_the_vectors_cover_the_marketplace_records() -> None:
    names = {name for name, _ in storage_values()}
    assert {"DecentralMLModule.Tasks", "DecentralMLModule.Submissions", "System.Account", "System.Events"} <= names


@pytest.mark.parametrize("name,value", storage_values())
def test_compiled_decoders_agree_with_scalecodec(name: str, value: str) -> None:
    entry = types().storage[name]
    assert types().decode(entry.value_type, value) == by_scalecodec(entry.value_type, value)


def test_every_storage_default_decodes_alike() -> None:
    for entry in types().storage.values():
        if entry.default is not None:
            assert types().decode(entry.value_type, entry.default) == by_scalecodec(entry.value_type, entry.default)


def task_value() -> tuple[int, str]:
    entry = types().storage["DecentralMLModule.Tasks"]
    return entry.value_type, next(v for n, v in storage_values() if n == "DecentralMLModule.Tasks")


@pytest.mark.parametrize("cut", [1, 2, 8, 33])
def test_a_truncated_value_is_a_codec_error(cut: int) -> None:
    type_id, value = task_value()
    with pytest.raises(CodecError):
        types().decode(type_id, value[: -2 * cut])


def test_bytes_after_the_value_are_a_codec_error() -> None:
    type_id, value = task_value()
    with pytest.raises(CodecError, match="left after"):
        types().decode(type_id, value + "00")


def test_an_unknown_variant_and_a_bad_bool_are_codec_errors() -> None:
    type_id, value = task_value()
    task = types().decode(type_id, value)
    # the task type is the first field after the creator: a variant index no enum of the runtime has
    raw = bytearray.fromhex(value[2:])
    raw[32] = 0xEE
    assert task["task_type"] in {"DataAnnotators", "ModelContributor", "ModelEngineer"}
    with pytest.raises(CodecError, match="variant index"):
        types().decode(type_id, "0x" + raw.hex())
    bool_type = next(t["id"] for t in types().registry if t["type"]["def"] == {"primitive": "bool"})
    with pytest.raises(CodecError):
        types().decode(bool_type, "0x02")


def test_a_sequence_longer_than_its_bytes_is_refused_before_allocating() -> None:
    vec_type = next(
        t["id"] for t in types().registry
        if "sequence" in t["type"]["def"] and types()._class_name(int(t["type"]["def"]["sequence"]["type"])) != "U8"
    )
    with pytest.raises(CodecError, match="elements in"):
        types().decode(vec_type, "0x" + "fe" + "ffffff" + "00")  # compact 2^30-ish elements, one byte left
