"""The client's knowledge of the pallet, pinned against ``pallet-spec/metadata``.

Every chain fact the client uses comes from the node's metadata at run time
(``ChainClient.limits``) or is a name the metadata must contain: the pallet,
its storage items, the events and errors the client names, the variants of
its status enums. A pallet change that renames or re-bounds any of them fails
here before it fails a user.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
from scalecodec.type_registry import load_type_registry_preset

from decentralml.chain import errors as chain_errors
from decentralml.chain.client import ChainClient
from decentralml.chain.pallet import (
    LIMIT_CONSTANTS,
    MAX_ASSIGNMENTS,
    MAX_BLOCK_NUMBER,
    MAX_SUBMISSION_ID,
    MAX_TASK_ID,
    PALLET,
    PalletLimits,
)
from decentralml.chain.types import SubmissionStatus, TaskStatus, TaskType, ValidationStrategy
from decentralml.storage.reference import StorageType

ROOT = Path(__file__).resolve().parents[2]
METADATA = ROOT / "pallet-spec" / "metadata" / "metadata_v14.scale"
CLIENT = ROOT / "client" / "decentralml"


@pytest.fixture(scope="module")
def metadata() -> Any:
    runtime = RuntimeConfigurationObject()
    runtime.update_type_registry(load_type_registry_preset("core"))
    decoded = runtime.create_scale_object("MetadataVersioned", data=ScaleBytes(METADATA.read_bytes()))
    decoded.decode()
    runtime.add_portable_registry(decoded)
    return runtime, decoded


def _pallet(metadata: Any) -> Any:
    _, decoded = metadata
    pallet = decoded.get_metadata_pallet(PALLET)
    assert pallet is not None, f"the runtime has no pallet {PALLET}"
    return pallet


def _constants(metadata: Any) -> dict[str, Any]:
    runtime, _ = metadata
    values = {}
    for constant in _pallet(metadata).constants:
        encoded = constant.value_object["value"].get_used_bytes()
        assert encoded[0] & 3 == 0, "constant values here are shorter than 64 bytes (one-byte length prefix)"
        value = runtime.create_scale_object(f"scale_info::{constant.value['type']}", data=ScaleBytes(encoded[1:]))
        values[constant.value["name"]] = value.decode()
    return values


def _client_literals(pattern: str) -> set[str]:
    found: set[str] = set()
    for path in CLIENT.rglob("*.py"):
        if "devnode" in path.relative_to(CLIENT).parts:
            continue
        found.update(re.findall(pattern, path.read_text(encoding="utf-8")))
    return found


def test_every_limit_is_a_constant_of_the_pallet(metadata: Any) -> None:
    constants = _constants(metadata)
    limits = PalletLimits(**{field: int(constants[name]) for field, name in LIMIT_CONSTANTS.items()})
    assert limits == PalletLimits(
        max_question_len=1024, max_uri_len=512, max_inline_result_len=4096, max_assignments_per_task=100,
        min_reward=10_000_000_000,
    )


#: Each integer argument of the pallet's calls -> the bound the CLI checks it against (decentralml.cli.common).
CALL_INTEGERS = {
    ("create_task", "max_assignments"): MAX_ASSIGNMENTS,
    ("create_task", "expiration_block"): MAX_BLOCK_NUMBER,
    ("create_task", "assignment_deadline"): MAX_BLOCK_NUMBER,
    ("assign_task", "task_id"): MAX_TASK_ID,
    ("close_task", "task_id"): MAX_TASK_ID,
    ("send_task_result", "submission_id"): MAX_SUBMISSION_ID,
    ("validate_task_result", "submission_id"): MAX_SUBMISSION_ID,
    ("accept_task_result", "submission_id"): MAX_SUBMISSION_ID,
    ("reject_task_result", "submission_id"): MAX_SUBMISSION_ID,
}


def test_the_integer_bounds_are_the_call_arguments_types(metadata: Any) -> None:
    runtime, _ = metadata
    found = {}
    for call in _pallet(metadata).calls:
        for arg in call.args:
            decoder = runtime.get_decoder_class(arg.type).__name__  # scalecodec's U32, U64, U128
            if re.fullmatch(r"U\d+", decoder) and arg.name != "score":  # score: 0..=MAX_SCORE, checked apart
                found[(call.name, arg.name)] = (1 << int(decoder[1:])) - 1
    assert found == CALL_INTEGERS


@pytest.mark.integration
def test_the_chain_client_reads_the_limits_the_metadata_holds(metadata: Any, shared_devnode: Any) -> None:
    constants = _constants(metadata)
    with ChainClient.connect(shared_devnode.url, timeout=30) as chain:
        limits = chain.limits
    for field, name in LIMIT_CONSTANTS.items():
        assert getattr(limits, field) == int(constants[name]), name


def test_storage_items_events_and_errors_the_client_names_exist(metadata: Any) -> None:
    pallet = _pallet(metadata)
    storage = {item.name for item in pallet.storage}
    assert {"Tasks", "Submissions", "TaskSubmissions", "WorkerSubmissions"} <= storage
    assert _client_literals(r'_query(?:_map)?\(PALLET, "(\w+)"') <= storage

    events = {event.name for event in pallet.events}
    named_events = _client_literals(r'find_event\(PALLET, "(\w+)"\)')
    assert named_events, "the pattern finds the events the use cases read"
    assert named_events <= events

    errors = {error.name for error in pallet.errors}
    assert chain_errors.NOT_FOUND_ERRORS <= errors
    assert chain_errors.PERMISSION_ERRORS <= errors
    named_errors = _client_literals(r'module=PALLET, name="(\w+)"')
    # usecases/preconditions.py: refused(message, "ErrorName", hint), the message one or more string literals
    named_errors |= _client_literals(r'refused\(\s*(?:f?"[^"]*"\s*)+,\s*"(\w+)"')
    assert {"TaskNotOpen", "AssignmentDeadlinePassed", "NotAwaitingResult", "NotTaskCreator"} <= named_errors
    assert named_errors <= errors, f"errors the pallet does not have: {sorted(named_errors - errors)}"


@pytest.mark.parametrize(
    ("type_name", "enum_type"),
    [
        ("ResultSubmissionStatus", SubmissionStatus),
        ("TaskStatus", TaskStatus),
        ("TaskType", TaskType),
        ("ValidationStrategy", ValidationStrategy),
        ("StorageType", StorageType),
    ],
)
def test_status_and_kind_enums_match_the_pallet_variant_for_variant(
    metadata: Any, type_name: str, enum_type: type
) -> None:
    _, decoded = metadata
    variants = None
    for entry in decoded.portable_registry["types"]:
        definition = entry.value["type"]
        if definition["path"][-2:] == ["types", type_name] and definition["path"][0] == "pallet_decentralml":
            variants = [variant["name"] for variant in definition["def"]["variant"]["variants"]]
    assert variants is not None, f"pallet_decentralml::types::{type_name} is not in the metadata"
    assert [member.value for member in enum_type] == variants


@pytest.mark.parametrize(("uri", "fits"), [("file:///" + "x" * 504, True), ("file:///" + "x" * 505, False),
                                           ("file:///" + "é" * 252, True), ("file:///" + "é" * 253, False)])
def test_an_artifact_uri_fits_max_uri_len_in_utf8_bytes(uri: str, fits: bool) -> None:
    from decentralml.errors import UsageError

    limits = PalletLimits(max_question_len=1024, max_uri_len=512, max_inline_result_len=4096,
                          max_assignments_per_task=100, min_reward=1)
    if fits:
        limits.check_uri(uri)
    else:
        with pytest.raises(UsageError, match="over the chain's 512"):
            limits.check_uri(uri)
