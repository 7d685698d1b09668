"""Loading the creator's bundle (``model_creator.py``): the creator's own code, run on the creator's machine.

Contributors' bundles are never imported here; their results are data
(safetensors + JSON) only.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Protocol, cast

from decentralml.errors import UsageError
from decentralml.fl.validation import Evaluation, ValidationReport
from decentralml.fl.weights import Weights

REQUIRED = ("evaluate_weights", "validate_contribution", "framework_name")


class CreatorBundle(Protocol):
    """What ``decentralml federate`` and CustomAccept validation call in ``model_creator.py``."""

    def framework_name(self) -> str: ...

    def evaluate_weights(self, weights: Weights) -> Evaluation: ...

    def validate_contribution(self, weights_path: Path, metrics_json: bytes, base_model_path: Path) -> ValidationReport: ...

    # Optional: ``shard_size() -> int``, the most samples one contributor's shard holds; federate
    # weighs no result by more (see decentralml.fl.weighting).


_LOADED: dict[str, CreatorBundle] = {}


def bundle_digest(directory: Path) -> str:
    """Hex SHA-256 over the bundle's Python sources (relative paths and bytes, sorted by path)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(directory).rglob("*.py") if "__pycache__" not in p.parts):
        name = path.relative_to(directory).as_posix().encode("utf-8")
        data = path.read_bytes()
        digest.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def load_creator_bundle(directory: Path) -> CreatorBundle:
    """Import ``model_creator.py`` from the creator's bundle directory and check its functions.

    The module is cached by the digest of the bundle's sources, so an edited
    bundle is imported afresh; it stays in ``sys.modules`` only while it runs
    its top level (its ``from . import settings``).
    """
    directory = Path(directory).resolve()
    source = directory / "model_creator.py"
    if not source.is_file():
        raise UsageError(f"{directory} has no model_creator.py; pass the creator bundle with --creator-bundle.")
    digest = bundle_digest(directory)
    cached = _LOADED.get(digest)
    if cached is not None:
        return cached
    name = f"decentralml_creator_bundle_{digest[:16]}"
    spec = importlib.util.spec_from_file_location(name, source, submodule_search_locations=[str(directory)])
    if spec is None or spec.loader is None:
        raise UsageError(f"Cannot import {source}.")
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        for loaded in [n for n in sys.modules if n == name or n.startswith(name + ".")]:
            del sys.modules[loaded]
    missing = [f for f in REQUIRED if not callable(getattr(module, f, None))]
    if missing:
        raise UsageError(f"{source} lacks {', '.join(missing)}; see docs/federated.md for the bundle contract.")
    bundle = cast(CreatorBundle, module)
    _LOADED[digest] = bundle
    return bundle
