"""A storage outage while a restarted contributor node adopts its slot (fault injection on a real local store).

The node was killed between ``assigning`` and ``assigned``; on restart it finds its submission on chain
and fetches the task's assets again. A store that fails is retried with back-off and reported, not fatal;
assets that do not match their digests, or a deadline that passed, give the slot up and the node goes on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from decentralml.chain.types import Submission, SubmissionStatus, Task, TaskAssets, TaskStatus, TaskType, ValidationStrategy
from decentralml.errors import StorageUnreachableError
from decentralml.storage import StoreSettings, open_store
from decentralml.usecases import contributor_node
from decentralml.usecases.journal import Journal
from decentralml.usecases.role import JOURNAL_FILE

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
SUBMISSION = 7


class Signer:
    ss58_address = BOB


class FlakyStore:
    """The real local store, whose ``get`` raises StorageUnreachableError while ``down`` is set."""

    def __init__(self, store: object) -> None:
        self.store = store
        self.down = True
        self.calls = 0

    def get(self, ref: object, dest: Path, **kwargs: object) -> Path:
        self.calls += 1
        if self.down:
            raise StorageUnreachableError("No S3 endpoint answers at http://127.0.0.1:9.")
        return self.store.get(ref, dest, **kwargs)  # type: ignore[attr-defined]


@pytest.fixture
def setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_store("local", StoreSettings(data_dir=tmp_path / "store"))
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "start_task.sh").write_text("#!/bin/sh\nexit 0\n")
    model = tmp_path / "model.safetensors"
    model.write_bytes(b"\0" * 64)
    task = Task(1, ALICE, TaskType.MODEL_CONTRIBUTOR, "q", 10, 3, ValidationStrategy.CUSTOM_ACCEPT, 1000, 50,
                TaskAssets(TaskType.MODEL_CONTRIBUTOR, store.put(bundle), store.put(model)), TaskStatus.OPEN, 1, 1, 0, 0)
    submission = Submission(SUBMISSION, 1, BOB, SubmissionStatus.ASSIGNED, 2, 52, None, None, None, None, None, 0)

    class Chain:  # what the settling reads; everything else of the node is real
        url = "ws://127.0.0.1:1"

        def pending_transactions(self, address: str) -> int:
            return 0

        def worker_submissions(self, address: str) -> list[Submission]:
            return [submission]

        def get_task(self, task_id: int) -> Task:
            return task

        def get_submission(self, submission_id: int) -> Submission:
            return submission

    flaky = FlakyStore(store)
    work_dir = tmp_path / "node"
    Journal(work_dir / JOURNAL_FILE).append({"type": "assigning", "task_id": 1})
    events: list[dict] = []
    node = contributor_node.ContributorNode(
        url=Chain.url, connect=Chain, keypair=Signer(), store=store, open_store=lambda ref: flaky,  # type: ignore[arg-type]
        work_dir=work_dir, runner=None, task_args=[], data=None, policy=contributor_node.Policy(),  # type: ignore[arg-type]
        on_event=events.append)
    node.head = 10
    return node, flaky, events, work_dir


def _kinds(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def test_a_storage_outage_during_adopt_is_retried_with_back_off_then_adopted(setup) -> None:  # type: ignore[no-untyped-def]
    node, flaky, events, work_dir = setup
    node._settle()
    node._settle()  # within the back-off: not tried again
    assert flaky.calls == 1 and _kinds(events) == ["storage_retry"]
    assert events[0]["attempt"] == 1 and events[0]["retry_in"] == 1.0 and events[0]["submission_id"] == SUBMISSION
    assert node.state.pending_assign is not None  # the intent stays until it is settled
    node._adopt_retry_at = 0.0  # the back-off has passed
    node._settle()
    assert events[-1]["type"] == "storage_retry" and events[-1]["attempt"] == 2 and events[-1]["retry_in"] == 2.0
    assert not list((work_dir / "tasks").glob(".adopt-*"))  # nothing half-done left behind

    flaky.down = False
    node._adopt_retry_at = 0.0
    node._settle()
    assert events[-1]["type"] == "assigned" and events[-1]["submission_id"] == SUBMISSION
    assert node.state.pending_assign is None and SUBMISSION in node.state.work
    assert (node.state.work[SUBMISSION].directory / "bundle" / "start_task.sh").is_file()
    records = Journal(work_dir / JOURNAL_FILE).records
    assert [r["type"] for r in records] == ["assigning", "assigned"]  # retries are reported, not journalled


def test_back_off_doubles_up_to_thirty_seconds(setup) -> None:  # type: ignore[no-untyped-def]
    node, _, events, _ = setup
    for _ in range(7):
        node._adopt_retry_at = 0.0
        node._settle()
    assert [e["retry_in"] for e in events] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_an_outage_past_the_slots_deadline_gives_the_slot_up_and_the_node_goes_on(setup) -> None:  # type: ignore[no-untyped-def]
    node, _, events, work_dir = setup
    node._settle()
    node.head = 52  # the slot's deadline
    node._adopt_retry_at = 0.0
    node._settle()
    assert events[-1]["type"] == "adopt_failed" and "deadline passed" in events[-1]["reason"]
    assert node.state.pending_assign is None and node.state.finished == {SUBMISSION: "failed"}
    assert 1 in node.state.tasks_taken  # a task is taken at most once
    replayed = contributor_node.replay(Journal(work_dir / JOURNAL_FILE).records)
    assert replayed.pending_assign is None and replayed.finished == {SUBMISSION: "failed"} and 1 in replayed.tasks_taken


def test_assets_that_do_not_match_their_digest_give_the_slot_up_at_once(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    node, flaky, events, _ = setup
    flaky.down = False
    stored = next(p for p in (tmp_path / "store").rglob("start_task.sh"))
    stored.chmod(0o644)
    stored.write_text("#!/bin/sh\necho changed\n")
    node._settle()
    assert _kinds(events) == ["adopt_failed"] and "digest" in events[0]["reason"].lower()
    assert node.state.pending_assign is None and not node.state.work
