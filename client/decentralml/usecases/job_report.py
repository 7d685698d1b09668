"""A creator job's report: one self-contained HTML file with plots, and the accuracy curve as PNG.

Built from the job's journal alone (what happened, as it was recorded before
and after each transaction): global accuracy per round against the
centralized baseline, each contribution's held-out accuracy and verdict, and
the payments per contributor. Plots are drawn with matplotlib (Agg backend, no
display needed) and embedded as PNG data URIs; every string from the chain or
a result is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decentralml.errors import ConfigError, UsageError
from decentralml.usecases.journal import Journal
from decentralml.usecases.role import JOURNAL_FILE

REPORT_FILE = "report.html"
CURVE_FILE = "accuracy.png"
VERDICT_COLOURS = {"accepted": "#2a9d3f", "rejected": "#d62728"}


@dataclass(frozen=True)
class Report:
    html: Path
    png: Path
    rounds: int


def resolve_job_dir(path: Path) -> Path:
    """A job directory, or the directory a JOB file names (``work_dir``, default ``<name>.job`` beside it)."""
    path = Path(path).expanduser()
    if path.is_file() and path.suffix == ".toml":
        try:
            job = tomllib.loads(path.read_text(encoding="utf-8")).get("job", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"{path} is not a readable TOML file: {exc}.") from None
        work = Path(str(job.get("work_dir", f"{path.stem}.job"))).expanduser()
        path = work if work.is_absolute() else path.resolve().parent / work
    if not (path / JOURNAL_FILE).is_file():
        raise UsageError(f"{path} holds no {JOURNAL_FILE}: not a job directory.",
                         hint="Pass the directory `decentralml creator run` used (or the JOB file).")
    return path


def _percent(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.2f} %"


def _figure_png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def write_report(job_dir: Path) -> Report:
    """Write ``report.html`` and ``accuracy.png`` into the job directory; returns their paths."""
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("The report needs matplotlib, which is not installed.",
                          hint="pip install 'matplotlib>=3.8'") from None

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    records = Journal(job_dir / JOURNAL_FILE).records
    started = next((r for r in records if r.get("type") == "job_started"), {})
    federated = [r for r in records if r.get("type") == "federated"]
    judged = [r for r in records if r.get("type") == "judged"]
    finished = next((r for r in records if r.get("type") == "finished"), None)
    baseline = finished.get("baseline_accuracy") if finished else None

    curve = Figure(figsize=(6, 3.6))
    ax = curve.subplots()
    rounds = [int(r["round"]) for r in federated]
    ax.plot(rounds, [100 * float(r["accuracy"]) for r in federated], marker="o", label="federated global model")
    if baseline is not None:
        ax.axhline(100 * float(baseline), color="#555", linestyle="--", label="centralized baseline")
    ax.set_xlabel("round")
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_title("Global accuracy per round")
    if rounds:
        ax.set_xticks(rounds)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    curve_png = _figure_png(curve)
    (job_dir / CURVE_FILE).write_bytes(curve_png)

    contrib = Figure(figsize=(6, 3.6))
    ax = contrib.subplots()
    for verdict, colour in VERDICT_COLOURS.items():
        points = [(int(j["round"]), 100 * float(j["accuracy"])) for j in judged
                  if j.get("decision") == verdict and j.get("accuracy") is not None]
        if points:
            ax.scatter([p[0] for p in points], [p[1] for p in points], color=colour, label=verdict, s=40)
    ax.set_xlabel("round")
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_title("Each contribution's held-out accuracy and verdict")
    if rounds:
        ax.set_xticks(rounds)
    ax.grid(alpha=0.3)
    if judged:
        ax.legend(loc="best")
    contrib_png = _figure_png(contrib)

    paid: dict[str, int] = defaultdict(int)
    for j in judged:
        paid[str(j["worker"])] += int(j.get("reward") or 0)
    payments = Figure(figsize=(6, 3.6))
    ax = payments.subplots()
    workers = sorted(paid)
    ax.bar(range(len(workers)), [paid[w] / 1e12 for w in workers], color="#1f77b4")
    ax.set_xticks(range(len(workers)), [w[:8] + "…" for w in workers])
    ax.set_ylabel("paid (10^12 planck)")
    ax.set_title("Payments per contributor")
    payments_png = _figure_png(payments)

    def img(png: bytes, ident: str, alt: str) -> str:
        data = base64.b64encode(png).decode("ascii")
        return f'<img id="{ident}" class="plot" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'

    e = html.escape
    rows = "".join(
        f"<tr><td>{e(str(j.get('round')))}</td><td>{e(str(j.get('submission_id')))}</td><td>{e(str(j.get('worker')))}</td>"
        f"<td>{_percent(j.get('accuracy'))}</td>"
        f"<td>{e(str(j.get('decision')))}</td><td>{e(str(j.get('reason')))}</td><td>{e(str(j.get('reward')))}</td></tr>"
        for j in judged
    )
    round_rows = "".join(
        f"<tr><td>{e(str(r['round']))}</td><td>{e(str(r.get('task_id')))}</td><td>{100 * float(r['accuracy']):.2f} %</td>"
        f"<td>{e(str(r.get('strategy')))}</td><td>{len(r.get('contributions') or [])}</td></tr>"
        for r in federated
    )
    summary = e(str(finished.get("reason"))) if finished else "running (not finished yet)"
    baseline_text = f"{100 * float(baseline):.2f} %" if baseline is not None else "not computed"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>DecentralML job {e(str(started.get('name', job_dir.name)))}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2em .6em}}img.plot{{display:block;margin:1em 0}}</style></head>
<body>
<h1>Federated job {e(str(started.get('name', job_dir.name)))}</h1>
<p>Creator {e(str(started.get('creator', '?')))}. Status: {summary}. Centralized baseline: {baseline_text}.</p>
<h2>Global accuracy per round</h2>
{img(curve_png, "accuracy-plot", "Global accuracy per round against the centralized baseline")}
<table><tr><th>round</th><th>task</th><th>global accuracy</th><th>strategy</th><th>contributions</th></tr>{round_rows}</table>
<h2>Contributions</h2>
{img(contrib_png, "contributions-plot", "Each contribution's held-out accuracy and verdict")}
<table><tr><th>round</th><th>submission</th><th>worker</th><th>held-out accuracy</th><th>verdict</th><th>reason</th><th>paid (planck)</th></tr>{rows}</table>
<h2>Payments per contributor</h2>
{img(payments_png, "payments-plot", "Payments per contributor")}
</body></html>
"""
    out = job_dir / REPORT_FILE
    out.write_text(page, encoding="utf-8")
    return Report(out, job_dir / CURVE_FILE, len(federated))
