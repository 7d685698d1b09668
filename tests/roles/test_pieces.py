"""The roles' pure pieces: the journal, state replay, the contributor policy, the JOB file, event text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from decentralml.amounts import TokenInfo
from decentralml.chain.pallet import PalletLimits
from decentralml.chain.types import Task, TaskAssets, TaskStatus, TaskType, ValidationStrategy
from decentralml.errors import ConfigError, UsageError
from decentralml.storage.reference import Reference, StorageType
from decentralml.usecases import contributor_node, creator_job
from decentralml.usecases.journal import Journal

TOKEN = TokenInfo(12, "UNIT")
ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"


# ---------------------------------------------------------------- journal


def test_journal_appends_durable_lines_and_reads_them_back(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j" / "journal.jsonl")
    journal.append({"type": "a", "n": 1})
    journal.append({"type": "b", "n": 2})
    again = Journal(tmp_path / "j" / "journal.jsonl")
    assert [r["n"] for r in again.records] == [1, 2]
    assert again.of_type("b") == [{"type": "b", "n": 2}]


def test_a_line_torn_by_a_kill_is_dropped_and_cut(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"type":"a"}\n{"type":"b","n":')
    journal = Journal(path)
    assert journal.records == [{"type": "a"}]
    journal.append({"type": "c"})
    assert path.read_bytes() == b'{"type":"a"}\n{"type":"c"}\n'
    assert [r["type"] for r in Journal(path).records] == ["a", "c"]


@pytest.mark.parametrize("content", [b'{"type":"a"}\nnot json\n{"type":"b"}\n', b'[1, 2]\n'])
def test_damage_before_the_last_line_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="damaged"):
        Journal(path)


# ---------------------------------------------------------------- creator state


def test_creator_replay_settles_rounds_decisions_and_payments(tmp_path: Path) -> None:
    records = [
        {"type": "job_started"},
        {"type": "round_opening", "round": 1, "base_model": "m0.safetensors", "base_digest": "aa"},
        {"type": "round_opened", "round": 1, "task_id": 4, "expiration_block": 90},
        {"type": "judging", "submission_id": 7, "verdict": "accepted"},
        {"type": "judged", "submission_id": 7, "decision": "accepted", "reward": "10"},
        {"type": "judging", "submission_id": 8, "verdict": "rejected"},
    ]
    state = creator_job.replay(records, tmp_path)
    current = state.current
    assert current is not None and current.task_id == 4 and current.base_model == tmp_path / "m0.safetensors"
    assert set(current.judged) == {7} and set(current.intents) == {8}  # 8's decision is still to be carried out
    assert state.paid == 10 and state.pending_create is None and not current.closed

    more = records + [{"type": "closing"}, {"type": "round_closed", "refund": "5"},
                      {"type": "federated", "round": 1, "accuracy": 0.9},
                      {"type": "round_opening", "round": 2, "base_model": "g1.safetensors", "base_digest": "bb"}]
    state = creator_job.replay(more, tmp_path)
    assert state.rounds[0].closed and state.rounds[0].refund == 5 and state.rounds[0].federated
    assert state.pending_create is not None and state.current.task_id is None  # type: ignore[union-attr]
    assert state.known_task_ids == {4}


JOB = """
[job]
creator_bundle = "creator"
contributor_bundle = "bundle"
initial_model = "m.safetensors"
rounds = 3
budget = "100 UNIT"
target_accuracy = 0.95

[round]
reward = "10 UNIT"
slots = 3
quorum = 2
round_blocks = 100
assignment_blocks = 50
"""


def _job_files(tmp_path: Path, text: str = JOB) -> Path:
    for name in ("creator", "bundle"):
        (tmp_path / name).mkdir(exist_ok=True)
    (tmp_path / "m.safetensors").write_bytes(b"x")
    path = tmp_path / "digits.toml"
    path.write_text(text)
    return path


def test_a_job_file_is_read_into_a_typed_spec(tmp_path: Path) -> None:
    spec = creator_job.load_job(_job_files(tmp_path), TOKEN)
    assert spec.name == "digits" and spec.rounds == 3 and spec.quorum == 2 and spec.slots == 3
    assert spec.reward == 10 * 10**12 and spec.budget == 100 * 10**12 and spec.escrow_per_round == 30 * 10**12
    assert spec.validation is ValidationStrategy.CUSTOM_ACCEPT and spec.target_accuracy == 0.95
    assert spec.creator_bundle == tmp_path / "creator" and spec.work_dir == tmp_path / "digits.job"


@pytest.mark.parametrize(("change", "message"), [
    (("quorum = 2", "quorum = 4"), "quorum"),
    (("quorum = 2", "quorum = 0"), "quorum"),
    (("rounds = 3", "rounds = 0"), "rounds"),
    (("rounds = 3", 'rounds = "3"'), "rounds"),
    (('budget = "100 UNIT"', 'budget = "20 UNIT"'), "budget"),
    (("target_accuracy = 0.95", "target_accuracy = 95"), "target_accuracy"),
    (("slots = 3", "slots = 0"), "`slots`"),
    (("slots = 3", "slots = 4294967296"), "`slots` must be between 1 and 4294967295"),
    (("round_blocks = 100", "round_blocks = 4294967296"), "`round_blocks` must be between 1 and 4294967295"),
    (("target_accuracy = 0.95", "target_accuracy = nan"), "target_accuracy"),
    (("assignment_blocks = 50", "assignment_blocks = 100"), "`assignment_blocks`"),
    (("assignment_blocks = 50", "assignment_blocks = 0"), "`assignment_blocks`"),
    (("rounds = 3", 'rounds = 3\nstrategy = "mean"'), "strategy|mean"),
    (('reward = "10 UNIT"', "reward = true"), "reward"),
    (("round_blocks = 100\n", ""), "round_blocks"),
    (('initial_model = "m.safetensors"', 'initial_model = "missing.safetensors"'), "does not exist"),
    (("[round]", "[rounds]"), r"\[round\]"),
    (("rounds = 3", "rounds = = 3"), "TOML"),
])
def test_a_bad_job_file_names_what_is_wrong(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = _job_files(tmp_path, JOB.replace(*change))
    with pytest.raises(UsageError, match=message):
        creator_job.load_job(path, TOKEN)


def test_a_missing_job_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        creator_job.load_job(tmp_path / "nope.toml", TOKEN)


# ---------------------------------------------------------------- contributor policy and state


def _task(**overrides: object) -> Task:
    ref = Reference(StorageType.LOCAL, "file:///x", b"\x01" * 32)
    fields = dict(task_id=1, creator=ALICE, task_type=TaskType.MODEL_CONTRIBUTOR, question="q", pays_amount=10,
                  max_assignments=3, validation_strategy=ValidationStrategy.CUSTOM_ACCEPT, expiration_block=100,
                  assignment_deadline=50, assets=TaskAssets(TaskType.MODEL_CONTRIBUTOR, ref, ref),
                  status=TaskStatus.OPEN, created_at=1, assigned=0, accepted=0, paid=0)
    fields.update(overrides)
    return Task(**fields)  # type: ignore[arg-type]


def test_the_policy_refuses_by_type_reward_and_creator() -> None:
    policy = contributor_node.Policy(min_reward=10, blocked_creators=frozenset({BOB}))
    assert policy.refuses(_task()) is None
    assert "below the minimum" in policy.refuses(_task(pays_amount=9))  # type: ignore[operator]
    assert "blocked" in policy.refuses(_task(creator=BOB))  # type: ignore[operator]
    data = _task(task_type=TaskType.DATA_ANNOTATORS,
                 assets=TaskAssets(TaskType.DATA_ANNOTATORS, Reference(StorageType.LOCAL, "file:///x", b"\x01" * 32)))
    assert "not offered" in policy.refuses(data)  # type: ignore[operator]
    only = contributor_node.Policy(allowed_creators=frozenset({BOB}))
    assert "allowed" in only.refuses(_task())  # type: ignore[operator]
    assert only.refuses(_task(creator=BOB)) is None


@pytest.mark.parametrize(("requirements", "frameworks"), [
    ("numpy\ntorch>=2.3\n", {"torch"}),
    ("tensorflow-cpu>=2.16 # the model\n", {"tensorflow"}),
    ("keras==3.0\ntorch\n", {"tensorflow", "torch"}),
    ("numpy\nscikit-learn\n", set()),
    ("torchvision\n", set()),
])
def test_a_bundle_names_its_frameworks_in_its_requirements(tmp_path: Path, requirements: str, frameworks: set) -> None:
    (tmp_path / "requirements.txt").write_text(requirements)
    assert contributor_node.bundle_frameworks(tmp_path) == frameworks


def test_the_policy_refuses_a_bundle_too_big_or_of_a_framework_not_offered(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("tensorflow-cpu\n")
    (tmp_path / "blob").write_bytes(os.urandom(2048))
    assert "tensorflow" in contributor_node.Policy(frameworks=frozenset({"torch"})).refuses_bundle(tmp_path)  # type: ignore[operator]
    assert "over the limit" in contributor_node.Policy(max_bundle_bytes=1024).refuses_bundle(tmp_path)  # type: ignore[operator]
    assert contributor_node.Policy().refuses_bundle(tmp_path) is None


def test_contributor_replay_keeps_live_work_and_earnings(tmp_path: Path) -> None:
    records = [
        {"type": "assigning", "task_id": 1},
        {"type": "assigned", "task_id": 1, "submission_id": 5, "deadline": 40, "directory": str(tmp_path)},
        {"type": "ran", "submission_id": 5, "result": str(tmp_path / "result")},
        {"type": "sending", "submission_id": 5},
        {"type": "assigning", "task_id": 2},
        {"type": "assigned", "task_id": 2, "submission_id": 6, "deadline": 50, "directory": str(tmp_path)},
        {"type": "sending", "submission_id": 6},
        {"type": "sent", "submission_id": 6},
        {"type": "paid", "submission_id": 6, "task_id": 2, "amount": "10"},
        {"type": "assigning", "task_id": 4},
        {"type": "assign_failed", "task_id": 4, "reason": "NoFreeSlot"},  # may be tried again
        {"type": "assigning", "task_id": 3},
    ]
    state = contributor_node.replay(records)
    assert state.tasks_taken == {1, 2, 3} and state.pending_assign == {"type": "assigning", "task_id": 3}
    assert set(state.work) == {5} and state.work[5].result == tmp_path / "result" and not state.work[5].sent
    assert set(state.pending_send) == {5}  # settled against the chain before any resend
    assert state.earned == 10 and state.finished == {6: "paid"}


# ---------------------------------------------------------------- what the people running them see


def test_event_lines_print_untrusted_text_literally() -> None:
    from rich.console import Console

    from decentralml.cli.roles import describe

    event = {"type": "judged", "submission_id": 3, "worker": "[bold]x[/bold]", "accuracy": 0.5, "decision": "rejected",
             "reason": "[/x] bad\x1b[2J", "reward": "0"}
    line = describe(event, TOKEN)
    console = Console(record=True, width=200)
    console.print(line, highlight=False)
    text = console.export_text()
    assert "[/x] bad" in text and "[bold]x[/bold]" in text and "\x1b" not in text


def _job(tmp_path: Path, **changes: object) -> creator_job.CreatorJob:
    from dataclasses import replace

    spec = replace(creator_job.load_job(_job_files(tmp_path), TOKEN), **changes)  # type: ignore[arg-type]

    class NoSigner:
        ss58_address = ALICE

    return creator_job.CreatorJob(spec, url="ws://127.0.0.1:1", connect=lambda: None,  # type: ignore[arg-type,return-value]
                                  keypair=NoSigner(), store=None, open_store=lambda ref: None)  # type: ignore[arg-type,return-value]


def _federated(job: creator_job.CreatorJob, *accuracies: float) -> None:
    job.state.rounds.clear()
    for number, accuracy in enumerate(accuracies, 1):
        job.state.rounds.append(creator_job.RoundState(number, Path("m"), "aa", task_id=number, closed=True,
                                                       federated={"accuracy": accuracy}))


def test_the_job_stops_at_the_round_limit_the_target_or_the_budget(tmp_path: Path) -> None:
    job = _job(tmp_path, target_accuracy=None, budget=None)
    assert job._stop_reason() is None
    _federated(job, 0.8, 0.9)
    assert job._stop_reason() is None
    _federated(job, 0.8, 0.9, 0.91)
    assert job._stop_reason() == "round limit reached: 3 of 3"

    job = _job(tmp_path, target_accuracy=0.9, budget=None)
    _federated(job, 0.85)
    assert job._stop_reason() is None
    _federated(job, 0.85, 0.9)
    assert job._stop_reason() == "target accuracy reached: 90.00% >= 90.00%"

    unit = 10**12
    job = _job(tmp_path, target_accuracy=None, budget=50 * unit)  # escrow per round: 30 UNIT
    assert job._stop_reason() is None
    job.state.paid = 20 * unit
    assert job._stop_reason() is None
    job.state.paid = 20 * unit + 1
    assert job._stop_reason() is not None and job._stop_reason().startswith("budget")  # type: ignore[union-attr]


def test_an_upload_that_keeps_failing_is_retried_then_reported(tmp_path: Path) -> None:
    """Storage outage on the contributor's side (fault injection): each failed upload is reported and retried on
    the next pass; after MAX_SEND_ATTEMPTS the task is given up and recorded as failed, never marked sent."""
    from decentralml.chain.types import Submission, SubmissionStatus
    from decentralml.errors import StorageUnreachableError

    class Signer:
        ss58_address = BOB

    class Chain:  # only what send_result reads before it uploads
        url = "ws://127.0.0.1:1"
        limits = PalletLimits(max_question_len=1024, max_uri_len=512, max_inline_result_len=4096,
                              max_assignments_per_task=100, min_reward=10**10)

        def get_submission(self, submission_id: int) -> Submission:
            return Submission(submission_id, 1, BOB, SubmissionStatus.ASSIGNED, 1, 100, None, None, None, None, None, 0)

        def block_number(self) -> int:
            return 2

    class DownStore:
        def put(self, path: Path, progress: object = None) -> object:
            raise StorageUnreachableError("No S3 endpoint answers at http://127.0.0.1:9.")

    events: list[dict] = []
    node = contributor_node.ContributorNode(
        url="ws://127.0.0.1:1", connect=Chain, keypair=Signer(), store=DownStore(),  # type: ignore[arg-type]
        open_store=lambda ref: DownStore(), work_dir=tmp_path / "node", runner=None,  # type: ignore[arg-type,return-value]
        task_args=[], data=None, policy=contributor_node.Policy(), on_event=events.append)
    result = tmp_path / "result"
    result.mkdir()
    (result / "metrics.json").write_text("{}")
    work = contributor_node.Work(1, 7, 100, tmp_path, result=result)
    node.state.work[7] = work
    for _ in range(contributor_node.MAX_SEND_ATTEMPTS):
        node._send(work)
    kinds = [e["type"] for e in events]
    assert kinds.count("storage_retry") == contributor_node.MAX_SEND_ATTEMPTS - 1
    assert kinds[0] == "sending" and kinds[-1] == "failed" and "sent" not in kinds
    assert "upload failed 5 times" in events[-1]["reason"] and node.state.finished == {7: "failed"}
    assert [r["type"] for r in Journal(tmp_path / "node" / "journal.jsonl").records] == ["sending", "failed"]
