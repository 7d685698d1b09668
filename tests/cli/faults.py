"""Fault injection for CLI tests on the real dev node: failures the node cannot be asked to produce.

Each helper patches one method of the real :class:`ChainClient` for the
duration of a test (through ``monkeypatch``); everything else still talks to
the dev node.
"""

from __future__ import annotations

from typing import Any

import pytest

from decentralml.chain.client import ChainClient
from decentralml.chain.pallet import PALLET


def fail_next_submission(monkeypatch: pytest.MonkeyPatch, error: Exception) -> list[str]:
    """The next ``ChainClient.submit`` raises ``error`` without sending anything (a dropped or refused transaction).

    Returns the list of call names that reached ``submit`` (the failed one included), so a test can check what
    was attempted. Later submissions go to the node as usual.
    """
    real_submit = ChainClient.submit
    attempted: list[str] = []

    def submit(self: ChainClient, keypair: Any, function: str, params: Any, module: str = PALLET) -> Any:
        attempted.append(function)
        if len(attempted) == 1:
            raise error
        return real_submit(self, keypair, function, params, module)

    monkeypatch.setattr(ChainClient, "submit", submit)
    return attempted


def fail_reads(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """Every ``ChainClient.get_task`` raises ``error`` (a fault inside a read, e.g. an interrupt or a bug)."""

    def get_task(self: ChainClient, task_id: int) -> Any:
        raise error

    monkeypatch.setattr(ChainClient, "get_task", get_task)
