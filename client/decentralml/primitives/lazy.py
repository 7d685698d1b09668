"""Names of a package imported from their modules on first use (a module ``__getattr__``, PEP 562)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: ``homes`` maps each public name to the module that defines it.

    The first access to a name imports its module and stores the value in the package, so later
    accesses are plain attribute reads; any other name raises AttributeError as a module does.
    Used by :mod:`decentralml.fl` and :mod:`decentralml.usecases`, so that importing one of their
    submodules does not load the others.
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
