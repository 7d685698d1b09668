"""Loading the creator's bundle (``model_creator.py``): the creator's own code, run on the creator's machine.

Contributors' bundles are never imported here; their results are data
(safetensors + JSON) only.
"""

from __future__ import annotations

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


def load_creator_bundle(directory: Path) -> CreatorBundle:
    """Import ``model_creator.py`` from the creator's bundle directory and check its functions."""
    directory = Path(directory).resolve()
    source = directory / "model_creator.py"
    if not source.is_file():
        raise UsageError(f"{directory} has no model_creator.py; pass the creator bundle with --creator-bundle.")
    name = f"decentralml_creator_bundle_{abs(hash(str(directory)))}"
    if name in sys.modules:
        return cast(CreatorBundle, sys.modules[name])
    spec = importlib.util.spec_from_file_location(name, source, submodule_search_locations=[str(directory)])
    if spec is None or spec.loader is None:
        raise UsageError(f"Cannot import {source}.")
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(name, None)
        raise
    missing = [f for f in REQUIRED if not callable(getattr(module, f, None))]
    if missing:
        raise UsageError(f"{source} lacks {', '.join(missing)}; see docs/federated.md for the bundle contract.")
    return cast(CreatorBundle, module)
