"""`decentralml report`: the HTML report and the accuracy curve, from a job's journal; loaded in headless Chromium."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from decentralml.usecases.job_report import resolve_job_dir, write_report
from decentralml.usecases.journal import Journal

BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
DAVE = "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy"


def finished_job(job_dir: Path) -> Path:
    journal = Journal(job_dir / "journal.jsonl")
    journal.append({"type": "job_started", "name": "digits <script>alert(1)</script>", "creator": "5Grw"})
    for number, accuracy in ((1, 0.81), (2, 0.9), (3, 0.93)):
        journal.append({"type": "round_opened", "round": number, "task_id": number - 1})
        journal.append({"type": "judged", "round": number, "submission_id": 2 * number, "worker": BOB,
                        "accuracy": accuracy - 0.01, "decision": "accepted", "reason": "ok", "reward": "10000000000000"})
        journal.append({"type": "judged", "round": number, "submission_id": 2 * number + 1, "worker": DAVE,
                        "accuracy": 0.1, "decision": "rejected", "reason": "<b>below</b> the threshold", "reward": "0"})
        journal.append({"type": "federated", "round": number, "task_id": number - 1, "accuracy": accuracy,
                        "strategy": "fedavg", "contributions": [{}]})
    journal.append({"type": "finished", "reason": "round limit reached: 3 of 3", "baseline_accuracy": 0.95})
    return job_dir


def test_the_report_holds_three_plots_the_tables_and_escaped_text(tmp_path: Path) -> None:
    report = write_report(finished_job(tmp_path))
    page = report.html.read_text()
    assert report.rounds == 3 and report.png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    for ident in ("accuracy-plot", "contributions-plot", "payments-plot"):
        assert f'id="{ident}"' in page
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;below&lt;/b&gt;" in page
    assert "93.00 %" in page and "95.00 %" in page and "round limit reached" in page


def test_report_finds_the_job_directory_from_the_job_file(tmp_path: Path) -> None:
    (tmp_path / "digits.toml").write_text('[job]\nwork_dir = "runs/digits"\n')
    finished_job(tmp_path / "runs" / "digits")
    assert resolve_job_dir(tmp_path / "digits.toml") == tmp_path / "runs" / "digits"
    from decentralml.errors import UsageError

    with pytest.raises(UsageError, match="not a job directory"):
        resolve_job_dir(tmp_path)


def test_report_command_prints_the_paths(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from decentralml.cli.app import app

    finished_job(tmp_path)
    result = CliRunner().invoke(app, ["--json", "report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"html": str(tmp_path / "report.html"), "png": str(tmp_path / "accuracy.png"),
                                         "rounds": 3}
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "not a job directory" in missing.output


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.integration
@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (scripts/test.sh installs it)")
def test_the_report_opens_in_headless_chromium_with_every_plot_drawn(tmp_path: Path) -> None:
    """Load report.html in headless Chromium over the DevTools protocol; every plot is a decoded image."""
    import websocket

    report = write_report(finished_job(tmp_path / "job"))
    port = _free_port()
    browser = subprocess.Popen(
        [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--remote-debugging-port={port}", f"--user-data-dir={tmp_path / 'profile'}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as answer:
                    pages = [p for p in json.loads(answer.read()) if p.get("type") == "page"]
                if pages:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.2)
        ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30)
        ids = iter(range(1, 1000))

        def call(method: str, **params: object) -> dict:
            ident = next(ids)
            ws.send(json.dumps({"id": ident, "method": method, "params": params}))
            while True:
                message = json.loads(ws.recv())
                if message.get("id") == ident:
                    return message

        call("Page.enable")
        call("Page.navigate", url=report.html.as_uri())
        script = ("document.readyState === 'complete' ? JSON.stringify(Array.from(document.images).map("
                  "i => [i.id, i.complete, i.naturalWidth, i.naturalHeight])) : null")
        images = None
        while images is None and time.monotonic() < deadline:
            value = call("Runtime.evaluate", expression=script)["result"]["result"].get("value")
            images = json.loads(value) if value else None
            time.sleep(0.1)
        title = call("Runtime.evaluate", expression="document.title")["result"]["result"]["value"]
        ws.close()
    finally:
        browser.terminate()
        browser.wait(10)
    assert images is not None, "the report did not finish loading"
    assert [i[0] for i in images] == ["accuracy-plot", "contributions-plot", "payments-plot"]
    assert all(complete and width > 300 and height > 200 for _, complete, width, height in images), images
    assert title.startswith("DecentralML job digits <script>")  # shown as text, never run
