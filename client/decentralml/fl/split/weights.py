"""Split-model checkpoints as safetensors (no pickle anywhere).

A checkpoint is one safetensors file holding named tensors with prefixes
``client.``, ``server.``, ``client_opt.``, ``server_opt.`` (any subset) and
string metadata: the format tag, the network spec, the sample count and the
optimisers' hyper-parameters. Contributor data is only ever read with
``safetensors`` (never ``torch.load``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from decentralml.errors import IntegrityError
from decentralml.fl.split.model import SplitSpec

FORMAT = "decentralml-split/1"
PARTS = ("client", "server", "client_opt", "server_opt")


@dataclass(frozen=True)
class Checkpoint:
    """Named tensors of a split model (any of its parts) and their metadata."""

    spec: SplitSpec
    tensors: Mapping[str, Mapping[str, Any]]
    samples: int = 0
    param_groups: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)

    def part(self, name: str) -> Mapping[str, Any]:
        if name not in self.tensors:
            raise IntegrityError(f"Split checkpoint has no {name} part: the artifact is not the expected kind.")
        return self.tensors[name]


def optimizer_tensors(optimizer: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Flatten an optimiser's state into ``{"<param index>.<key>": tensor}`` and its param groups."""
    import torch

    state = optimizer.state_dict()
    flat: dict[str, Any] = {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            flat[f"{index}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return flat, state["param_groups"]


def load_optimizer(optimizer: Any, flat: Mapping[str, Any], param_groups: list[dict[str, Any]] | None) -> None:
    """Restore an optimiser from :func:`optimizer_tensors` output (hyper-parameters kept from ``optimizer``)."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in flat.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value.clone()
    current = optimizer.state_dict()
    groups = current["param_groups"]
    if param_groups is not None and [g["params"] for g in param_groups] != [g["params"] for g in groups]:
        raise IntegrityError("Optimizer state in the checkpoint does not fit this network: it is for another architecture.")
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def to_bytes(checkpoint: Checkpoint) -> bytes:
    """Serialise a checkpoint to safetensors bytes."""
    from safetensors.torch import save

    flat: dict[str, Any] = {}
    for part, tensors in checkpoint.tensors.items():
        if part not in PARTS:
            raise ValueError(f"unknown checkpoint part {part}")
        for name, tensor in tensors.items():
            flat[f"{part}.{name}"] = tensor.detach().contiguous().cpu()
    metadata = {
        "format": FORMAT,
        "spec": json.dumps(checkpoint.spec.to_dict(), sort_keys=True),
        "samples": str(checkpoint.samples),
        "param_groups": json.dumps(checkpoint.param_groups, sort_keys=True),
    }
    return save(flat, metadata=metadata)


def from_bytes(raw: bytes) -> Checkpoint:
    """Parse safetensors bytes written by :func:`to_bytes`; anything else is an IntegrityError."""
    from safetensors.torch import load

    try:
        flat = load(raw)
        metadata = _metadata(raw)
    except Exception as exc:  # safetensors raises SafetensorError / ValueError on bad input
        raise IntegrityError(f"Split checkpoint is not a valid safetensors file ({exc}).") from exc
    if metadata.get("format") != FORMAT:
        raise IntegrityError(f"Split checkpoint has format {metadata.get('format')!r}, expected {FORMAT}.")
    try:
        spec = SplitSpec.from_dict(json.loads(metadata["spec"]))
        samples = int(metadata.get("samples", "0"))
        param_groups = json.loads(metadata.get("param_groups", "{}"))
    except Exception as exc:
        raise IntegrityError(f"Split checkpoint metadata is malformed ({exc}).") from exc
    tensors: dict[str, dict[str, Any]] = {}
    for name, tensor in flat.items():
        part, _, key = name.partition(".")
        if part not in PARTS or not key:
            raise IntegrityError(f"Split checkpoint holds an unexpected tensor {name!r}.")
        tensors.setdefault(part, {})[key] = tensor
    return Checkpoint(spec=spec, tensors=tensors, samples=samples, param_groups=param_groups)


def _metadata(raw: bytes) -> dict[str, str]:
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])
    return dict(header.get("__metadata__", {}))


def write(path: Path, checkpoint: Checkpoint) -> None:
    Path(path).write_bytes(to_bytes(checkpoint))


def read(path: Path) -> Checkpoint:
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise IntegrityError(f"Split checkpoint {path} does not exist.") from exc
    return from_bytes(raw)
