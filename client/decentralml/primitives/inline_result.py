"""The body of a submission's ``inline_result``: a compact JSON object ``{"metrics": {...}}``, plus
``"lineage": <signed record>`` when the worker signed one (written and verified by
:mod:`decentralml.lineage.result`). Reading the metrics needs nothing more, so listings import only this.
"""

from __future__ import annotations

import json
from typing import Any

INLINE_LINEAGE_KEY = "lineage"
INLINE_METRICS_KEY = "metrics"


def inline_body(raw: bytes | None) -> dict[str, Any]:
    """The JSON object an ``inline_result`` holds; ``{}`` when empty or not a JSON object."""
    if not raw:
        return {}
    try:
        body = json.loads(bytes(raw))
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def inline_metrics(raw: bytes | None) -> dict[str, Any]:
    """The metrics an ``inline_result`` carries; ``{}`` when there are none or it is not our JSON."""
    metrics = inline_body(raw).get(INLINE_METRICS_KEY)
    return dict(metrics) if isinstance(metrics, dict) else {}
