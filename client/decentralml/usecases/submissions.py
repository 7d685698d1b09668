"""Reading a task's submissions: which wait for the creator's decision, the metrics each carries.

Listings import only this (no storage, sandbox or lineage verification).
"""

from __future__ import annotations

from typing import Any

from decentralml.chain.client import ChainClient
from decentralml.chain.types import AWAITING_DECISION, Submission
from decentralml.primitives.inline_result import inline_metrics


def pending_results(chain: ChainClient, task_id: int) -> list[Submission]:
    """Submissions of a task waiting for the creator's decision."""
    return [s for s in chain.task_submissions(task_id) if s.status in AWAITING_DECISION]


def result_metrics(submission: Submission) -> dict[str, Any]:
    """The metrics a submission carries inline ({} when none or not JSON)."""
    return inline_metrics(submission.inline_result)
