"""Storage views: the node's read-only ``StateView`` and the runtime's layered overlay."""

from __future__ import annotations

from typing import Protocol


class StateView(Protocol):
    """Read access to the storage of one block, as raw keys and SCALE values."""

    def get(self, key: bytes) -> bytes | None: ...

    def next_key(self, key: bytes) -> bytes | None:
        """The smallest key strictly greater than ``key``, or None."""
        ...


class DictState:
    """A ``StateView`` over a plain dict (genesis, tests)."""

    def __init__(self, items: dict[bytes, bytes] | None = None) -> None:
        self.items: dict[bytes, bytes] = dict(items or {})
        self._sorted: list[bytes] | None = None

    def get(self, key: bytes) -> bytes | None:
        return self.items.get(key)

    def next_key(self, key: bytes) -> bytes | None:
        import bisect

        if self._sorted is None or len(self._sorted) != len(self.items):
            self._sorted = sorted(self.items)
        i = bisect.bisect_right(self._sorted, key)
        return self._sorted[i] if i < len(self._sorted) else None

    def apply(self, changes: dict[bytes, bytes | None]) -> None:
        for k, v in changes.items():
            if v is None:
                self.items.pop(k, None)
            else:
                self.items[k] = v
        self._sorted = None


class Overlay:
    """Writes over a ``StateView`` in nested layers (storage transactions).

    ``begin``/``commit``/``rollback`` give FRAME's transactional semantics: a
    failed dispatch drops its layer, keeping what was written before it.
    """

    __slots__ = ("base", "layers")

    def __init__(self, base: StateView) -> None:
        self.base = base
        self.layers: list[dict[bytes, bytes | None]] = [{}]

    def get(self, key: bytes) -> bytes | None:
        for layer in reversed(self.layers):
            if key in layer:
                return layer[key]
        return self.base.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        self.layers[-1][key] = value

    def kill(self, key: bytes) -> None:
        self.layers[-1][key] = None

    def take(self, key: bytes) -> bytes | None:
        value = self.get(key)
        if value is not None:
            self.kill(key)
        return value

    def begin(self) -> None:
        self.layers.append({})

    def commit(self) -> None:
        top = self.layers.pop()
        self.layers[-1].update(top)

    def rollback(self) -> None:
        self.layers.pop()

    def _written(self, key: bytes) -> tuple[bool, bytes | None]:
        for layer in reversed(self.layers):
            if key in layer:
                return True, layer[key]
        return False, None

    def next_key(self, key: bytes) -> bytes | None:
        """Smallest live key greater than ``key`` across the base and all layers."""
        base_key = self.base.next_key(key)
        while base_key is not None:
            written, value = self._written(base_key)
            if not written or value is not None:
                break
            base_key = self.base.next_key(base_key)
        best = base_key
        for layer in self.layers:
            for k in layer:
                if k > key and (best is None or k < best):
                    written, value = self._written(k)
                    if value is not None:
                        best = k
        return best

    def keys_with_prefix(self, prefix: bytes) -> list[bytes]:
        out = []
        k = self.next_key(prefix) if self.get(prefix) is None else prefix
        while k is not None and k.startswith(prefix):
            out.append(k)
            k = self.next_key(k)
        return out

    def changes(self) -> dict[bytes, bytes | None]:
        """Net writes against the base: keys whose value differs from it."""
        merged: dict[bytes, bytes | None] = {}
        for layer in self.layers:
            merged.update(layer)
        return {k: v for k, v in merged.items() if self.base.get(k) != v}
