"""JSON from untrusted sources (a contributor's metrics.json, a safetensors header) with limits.

:func:`loads` refuses a document larger than ``max_bytes`` or nested deeper
than ``max_depth`` before the standard parser sees it (so deeply nested input
cannot exhaust the recursion limit), and objects with a repeated key (which
``json.loads`` would silently collapse to the last value). Numbers are parsed
by the standard library; integers of more than 4300 digits are refused by it.
"""

from __future__ import annotations

import json
from typing import Any

#: Bytes that open or close a nesting level, and the string delimiter.
_OPEN, _CLOSE, _QUOTE, _ESCAPE = frozenset(b"[{"), frozenset(b"]}"), ord('"'), ord("\\")


class BoundedJSONError(ValueError):
    """The document is not JSON, or breaks a limit; the message says which."""


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw`` (brackets inside strings ignored)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _ESCAPE:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif byte in _CLOSE:
            depth -= 1
    return deepest


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BoundedJSONError(f"the key {key[:80]!r} appears twice")
        out[key] = value
    return out


def loads(raw: bytes | str, *, max_bytes: int, max_depth: int) -> Any:
    """Parse ``raw`` within the limits; raise :class:`BoundedJSONError` otherwise."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if len(data) > max_bytes:
        raise BoundedJSONError(f"it has {len(data)} bytes, at most {max_bytes} are read")
    depth = nesting_depth(data)
    if depth > max_depth:
        raise BoundedJSONError(f"it is nested {depth} levels deep, at most {max_depth} are read")
    try:
        return json.loads(data, object_pairs_hook=_unique_keys)
    except BoundedJSONError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BoundedJSONError(f"it is not valid JSON ({str(exc)[:120]})") from None
