#!/usr/bin/env python3
"""Start-up overhead of the sandbox: the same trivial command with and without bubblewrap.

Prints one JSON object: median and p90 wall seconds of ``python -c pass`` run
(a) directly and (b) through :func:`decentralml.sandbox.run_sandboxed` with the
default policy and the client's interpreter as the task venv's base; the
overhead is (b) - (a). Usage: ``python scripts/bench_sandbox.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from decentralml.sandbox import SandboxLayout, SandboxPolicy, run_sandboxed, runtime_dirs, task_venv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        (work / "bundle").mkdir(parents=True)
        venv = task_venv(None, Path(tmp) / "cache")
        layout = SandboxLayout(work_dir=work, bundle_dir=work / "bundle", venv=venv, runtime_dirs=runtime_dirs())
        python = str(venv / "bin" / "python")
        direct, sandboxed = [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run([python, "-c", "pass"], check=True)
            direct.append(time.perf_counter() - start)
            start = time.perf_counter()
            outcome = run_sandboxed(["/opt/decentralml/venv/bin/python", "-c", "pass"], layout, SandboxPolicy(),
                                    stdout=io.StringIO(), stderr=io.StringIO())
            sandboxed.append(time.perf_counter() - start)
            assert outcome.returncode == 0, outcome.stderr_tail
    q = lambda xs, p: sorted(xs)[int(p * (len(xs) - 1))]  # noqa: E731
    print(json.dumps({
        "runs": args.runs,
        "direct_median_s": round(statistics.median(direct), 4), "direct_p90_s": round(q(direct, 0.9), 4),
        "sandboxed_median_s": round(statistics.median(sandboxed), 4), "sandboxed_p90_s": round(q(sandboxed, 0.9), 4),
        "overhead_median_s": round(statistics.median(sandboxed) - statistics.median(direct), 4),
        "load": os.getloadavg()[0],
    }))


if __name__ == "__main__":
    sys.exit(main())
