"""Keeping TensorFlow's start-up lines off the terminal.

TensorFlow prints, on import and at its first operation, a oneDNN notice
(``port.cc``), a ``cpu_feature_guard`` line and absl's "All log messages
before absl::InitializeLog() ..." warning. They say nothing a user can act on
and they break output meant for scripts. ``TF_CPP_MIN_LOG_LEVEL=2`` hides the
C++ INFO and WARNING lines, but TensorFlow 2.16 and later log the oneDNN notice
through absl before that level applies; ``TF_ENABLE_ONEDNN_OPTS=0`` turns the
oneDNN custom operations off, so the notice (and the round-off differences it
warns about) is gone. Both are environment variables TensorFlow reads once, on
import: :func:`quiet_framework_logs` must run before TensorFlow is imported, and
it never overrides a value the user set.
"""

from __future__ import annotations

import logging
import os

QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}


def quiet_framework_logs(debug: bool = False) -> None:
    """Silence TensorFlow's start-up logging (nothing with ``debug``).

    Sets the variables of :data:`QUIET_ENVIRONMENT` that are unset (child
    processes inherit them) and the Python ``absl`` logger to ERROR.
    """
    if debug:
        return
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    logging.getLogger("absl").setLevel(logging.ERROR)
