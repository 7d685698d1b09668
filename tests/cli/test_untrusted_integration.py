"""Markup and escape sequences from the chain print as literal text (real dev node, real CLI process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

QUESTIONS = ["[/x] closes nothing", "\x1b[2J\x1b]0;owned\x07 clear screen", "[bold red]loud[/] [link=http://evil]x[/link]"]
METRIC = "acc[/x]\x1b[31m"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "decentralml.cli.app", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_hostile_question_and_metric_name_print_literally(shared_devnode, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECENTRALML_")}
    env.update(DECENTRALML_URL=shared_devnode.url, DECENTRALML_DATA_DIR=str(tmp_path / "data"),
               DECENTRALML_STORE_DIR=str(tmp_path / "store"), DECENTRALML_CONFIG=str(tmp_path / "c.toml"))
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "start_task.sh").write_text("#!/bin/sh\n")
    ids = []
    for question in QUESTIONS:
        done = _cli(env, "--suri", "//Alice", "--json", "create-task", str(assets), "--question", question, "--reward", "1 UNIT")
        assert done.returncode == 0, done.stderr
        ids.append(json.loads(done.stdout)["task_id"])
    listed = _cli(env, "list-tasks", "--all")
    assert listed.returncode == 0, listed.stderr
    assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout
    for task_id in ids:
        assert f"\n│ {task_id} " in listed.stdout or f"│ {task_id:>2} " in listed.stdout or f" {task_id} │" in listed.stdout
    assert "[/x] closes nothing" in listed.stdout and "\\x1b[2J" in listed.stdout
    shown = _cli(env, "show-task", str(ids[2]))
    assert shown.returncode == 0 and "[bold red]loud[/]" in shown.stdout
    assert {t["question"] for t in json.loads(_cli(env, "--json", "list-tasks", "--all").stdout)} >= set(QUESTIONS)

    assigned = _cli(env, "--suri", "//Bob", "--json", "assign-task", str(ids[0]), "--work-dir", str(tmp_path / "work"))
    assert assigned.returncode == 0, assigned.stderr
    submission = json.loads(assigned.stdout)["submission_id"]
    result = tmp_path / "result"
    result.mkdir()
    (result / "metrics.json").write_text(json.dumps({METRIC: 0.5}))
    sent = _cli(env, "--suri", "//Bob", "send-result", str(submission), str(result))
    assert sent.returncode == 0, sent.stderr
    detail = _cli(env, "show-result", str(submission))
    assert detail.returncode == 0, detail.stderr
    assert "acc[/x]\\x1b[31m" in detail.stdout and "\x1b" not in detail.stdout
