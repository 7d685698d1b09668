"""Pallet, call, event and error indices looked up by name in the metadata."""

from __future__ import annotations

from .metadata import Metadata, Variant
from .types import DispatchFailure, module_error


class RuntimeIndex:
    """Name → index tables built once from the runtime's V14 metadata."""

    def __init__(self, md: Metadata) -> None:
        self.md = md
        self._event_prefix: dict[tuple[str, str], bytes] = {}
        self._errors: dict[tuple[str, str], tuple[int, int]] = {}
        self.calls_by_index: dict[tuple[int, int], tuple[str, str, Variant]] = {}
        self.pallet_index: dict[str, int] = {}
        for p in md.pallets.values():
            self.pallet_index[p.name] = p.index
            for name, v in p.events.items():
                self._event_prefix[(p.name, name)] = bytes((p.index, v.index))
            for name, v in p.errors.items():
                self._errors[(p.name, name)] = (p.index, v.index)
            for name, v in p.calls.items():
                self.calls_by_index[(p.index, v.index)] = (p.name, name, v)

    def event_prefix(self, pallet: str, event: str) -> bytes:
        try:
            return self._event_prefix[(pallet, event)]
        except KeyError:
            raise KeyError(f"event {pallet}.{event} is not in the metadata") from None

    def error(self, pallet: str, name: str) -> DispatchFailure:
        try:
            p, e = self._errors[(pallet, name)]
        except KeyError:
            raise KeyError(f"error {pallet}.{name} is not in the metadata") from None
        return module_error(p, e, f"{pallet}.{name}")

    def call_index(self, pallet: str, call: str) -> bytes:
        p = self.md.pallet(pallet)
        return bytes((p.index, p.calls[call].index))

    def constant(self, pallet: str, name: str) -> bytes:
        return self.md.pallet(pallet).constants[name][1]
