"""Helpers for tests: the asset bundles of this repository, imported as the creator imports them."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from decentralml.fl.bundle import load_creator_bundle

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def creator_bundle() -> ModuleType:
    return load_creator_bundle(ASSETS / "model_creator")  # type: ignore[return-value]


def contributor_code() -> ModuleType:
    return creator_bundle().contributor_code()
