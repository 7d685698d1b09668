"""Helpers for the role tests: a federated job on disk, role processes, fees read from the chain."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tests.fl.bundles import ASSETS, creator_bundle

ROOT = ASSETS.parent
UNIT = 10**12


def prepare_job(tmp: Path, *, framework: str = "torch", rounds: int = 3, slots: int = 3, quorum: int = 2,
                round_blocks: int = 600, assignment_blocks: int = 300, reward: str = "10 UNIT",
                extra_job: str = "") -> Path:
    """A creator bundle copy for ``framework``, its round 0 (``model_creator.py init``) and a JOB file."""
    creator = creator_bundle()
    bundles = creator.copy_creator_bundle(tmp / "bundles", replace(creator.SETTINGS, framework=framework))
    init = subprocess.run([sys.executable, str(bundles / "model_creator.py"), "init", str(tmp / "round0")],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert init.returncode == 0, init.stderr[-3000:]
    job = tmp / "digits.toml"
    job.write_text(f"""
[job]
name = "digits"
creator_bundle = "{bundles}"
contributor_bundle = "round0/contributor_bundle"
initial_model = "round0/global_model.safetensors"
rounds = {rounds}
strategy = "fedavg"
{extra_job}

[round]
reward = "{reward}"
slots = {slots}
quorum = {quorum}
validation = "custom"
round_blocks = {round_blocks}
assignment_blocks = {assignment_blocks}
question = "Train the digits MLP on your data for one round."
""")
    return job


def flipped_labels(path: Path, seed: int = 7) -> Path:
    """A label-flipping poisoner's data: the digits training set with its labels permuted."""
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    np.savez(path, x=(digits.data / 16.0).astype(np.float32), y=rng.permutation(digits.target).astype(np.int64))
    return path


@dataclass
class Role:
    """A `decentralml ... run` process with --json events in a log file."""

    name: str
    args: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)
    env: dict[str, str] | None = None  #: the process's environment (default: this one's)

    def start(self, url: str, store: Path) -> Role:
        self.starts += 1
        env = dict(os.environ if self.env is None else self.env, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", DECENTRALML_STORE_DIR=str(store))
        with open(self.log, "ab") as out, open(self.log.with_suffix(".err"), "ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "decentralml.cli.app", "--url", url, "--json", *self.args],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=self.log.parent)
        return self

    def events(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def wait_for(self, predicate: Any, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events():
                if predicate(event):
                    return event
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.process.returncode}: {self.stderr()}")
            time.sleep(0.2)
        raise AssertionError(f"{self.name}: no matching event within {timeout} s; stderr: {self.stderr()}")

    def stderr(self) -> str:
        path = self.log.with_suffix(".err")
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def terminate(self, timeout: float = 60) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"{self.name} did not stop on SIGTERM within {timeout} s") from exc

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def fees_paid(chain: Any, addresses: set[str]) -> dict[str, int]:
    """Every transaction fee (and tip) each address paid, read from every block's events."""
    fees = dict.fromkeys(addresses, 0)
    for number in range(1, chain.block_number() + 1):
        _, events = chain.block_events(number)
        for module, name, attributes in events:
            if module == "TransactionPayment" and name == "TransactionFeePaid" and attributes.get("who") in fees:
                fees[attributes["who"]] += int(attributes.get("actual_fee", 0)) + int(attributes.get("tip", 0))
    return fees
