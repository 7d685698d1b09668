"""scripts/load_devnode.py end to end: every abuse runs while a victim client works; nothing is lost.

Latency figures are the script's to report (README), not this test's to time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRIPT = Path(__file__).parents[2] / "scripts" / "load_devnode.py"


def test_every_abuse_leaves_the_victim_served_and_the_node_bounded():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--transfers-per-abuse", "6"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{done.stderr[-3000:]}\n{done.stdout[-2000:]}"
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(summary) == {"huge-batch", "no-reader", "oversize", "subscriptions", "half-open", "foreign-origin"}
    for name, result in summary.items():
        assert result["lost"] == 0 and result["included"] == 6, name
        assert result["rss_mib"] < 512, (name, result)
