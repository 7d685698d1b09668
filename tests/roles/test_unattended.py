"""Unattended roles on a real dev node: `creator run` and `contributor run` as processes, round after round.

The dev node seals a block every 0.5 s so assignment deadlines pass in wall-clock time. Dev keys: //Alice
creates; //Bob, //Charlie and //Eve train on shards of the creator's dataset (all in the job's framework,
PyTorch); //Dave poisons by label flipping (his own data with the labels permuted: a real attack through the
real product).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.fixtures.devnode import start_devnode
from tests.roles.jobs import UNIT, Role, fees_paid, flipped_labels, prepare_job

pytestmark = [pytest.mark.integration, pytest.mark.ml, pytest.mark.slow]
REWARD = 10 * UNIT


@pytest.fixture
def node(tmp_path_factory: pytest.TempPathFactory):
    # Archive state: the balance checks read the fee events of every block, which outlive the default 256-block window.
    node = start_devnode(tmp_path_factory.mktemp("devnode"), "--block-time", "0.5", "--state-pruning", "archive")
    try:
        yield node
    finally:
        node.stop()


def contributor(tmp_path: Path, name: str, *data: str) -> Role:
    return Role(name, ["--suri", f"//{name}", "contributor", "run", "--yes", "--work-dir", str(tmp_path / name), *data],
                tmp_path / f"{name}.jsonl")


def journal(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check_balances(chain, before: dict[str, int], names: dict[str, str], rewards: dict[str, int]) -> None:
    """Each account's change is exactly its rewards minus its fees; the creator's is minus the rewards it paid
    minus its fees (every escrow refunded to the planck)."""
    fees = fees_paid(chain, set(before))
    for address, name in names.items():
        change = chain.balance(address).free - before[address]
        if name == "Alice":
            assert change == -sum(rewards.values()) - fees[address], name
        else:
            assert change == rewards.get(address, 0) - fees[address], name


def test_three_round_job_runs_unattended_with_a_poisoner(node, tmp_path: Path) -> None:
    from decentralml.chain.client import ChainClient, TaskFilter
    from decentralml.chain.signer import keypair_from_suri
    from decentralml.chain.types import SubmissionStatus, TaskStatus

    job = prepare_job(tmp_path, rounds=3, slots=3, quorum=3)
    store = tmp_path / "store"
    names = {keypair_from_suri(f"//{n}").ss58_address: n for n in ("Alice", "Bob", "Charlie", "Eve", "Dave")}
    address = {n: a for a, n in names.items()}
    chain = ChainClient.connect(node.url)
    before = {a: chain.balance(a).free for a in names}
    workers = [
        contributor(tmp_path, "Bob", "--shard", "0"),
        contributor(tmp_path, "Charlie", "--shard", "1"),
        contributor(tmp_path, "Eve", "--shard", "2"),
        contributor(tmp_path, "Dave", "--data", str(flipped_labels(tmp_path / "flipped.npz"))),
    ]
    creator = Role("creator", ["--suri", "//Alice", "creator", "run", str(job)], tmp_path / "creator.jsonl")
    try:
        for worker in workers:
            worker.start(node.url, store).wait_for(lambda e: e["type"] == "runner", 60)
        creator.start(node.url, store)
        finished = creator.wait_for(lambda e: e["type"] == "finished", 900)
        assert creator.process.wait(120) == 0, creator.stderr()
        for worker in workers:
            assert worker.terminate() == 0, worker.stderr()
    finally:
        for role in (creator, *workers):
            role.kill()

    assert finished["reason"] == "round limit reached: 3 of 3"
    events = creator.events()
    federated = [e for e in events if e["type"] == "federated"]
    assert [e["round"] for e in federated] == [1, 2, 3]
    assert federated[-1]["accuracy"] > 0.85
    assert events[-1]["type"] == "report" and Path(events[-1]["html"]).is_file()
    judged = [e for e in events if e["type"] == "judged"]
    dave = [j for j in judged if j["worker"] == address["Dave"]]
    assert all(j["decision"] == "rejected" and "below the threshold" in j["reason"] for j in dave)
    honest = [j for j in judged if j["worker"] != address["Dave"]]
    assert all(j["decision"] == "accepted" for j in honest)
    assert sorted(j["round"] for j in honest) == [1, 1, 1, 2, 2, 2, 3, 3, 3]  # a slot freed by a rejection is taken again

    # The chain agrees: three tasks (one per round), each decided once, paid once, closed or completed.
    tasks = chain.list_tasks(TaskFilter(creator=address["Alice"]))
    assert len(tasks) == 3 and all(t.status is TaskStatus.COMPLETED and t.accepted == 3 for t in tasks)
    rewards: dict[str, int] = {}
    for task in tasks:
        for s in chain.task_submissions(task.task_id):
            assert s.status in (SubmissionStatus.ACCEPTED, SubmissionStatus.REJECTED)
            assert s.paid == (REWARD if s.status is SubmissionStatus.ACCEPTED else 0)
            rewards[s.worker] = rewards.get(s.worker, 0) + s.paid
    assert sum(rewards.values()) == 9 * REWARD and rewards.get(address["Dave"], 0) == 0
    check_balances(chain, before, names, rewards)
    # Each contributor's journal recorded every payment it received.
    for worker in workers:
        paid = sum(int(r["amount"]) for r in journal(tmp_path / worker.name / "journal.jsonl") if r["type"] == "paid")
        assert paid == rewards.get(address[worker.name], 0), worker.name
    chain.close()


def test_creator_killed_mid_round_and_a_contributor_killed_mid_training(node, tmp_path: Path) -> None:
    """SIGKILL the creator after its first decision and restart it: it continues (no task created twice, no
    decision twice). SIGKILL Eve while she trains: her slot is released at its deadline and the round completes.
    The node stops for a few seconds meanwhile: every role reconnects and goes on."""
    from decentralml.chain.client import ChainClient, TaskFilter
    from decentralml.chain.signer import keypair_from_suri
    from decentralml.chain.types import SubmissionStatus, TaskStatus

    job = prepare_job(tmp_path, rounds=2, slots=3, quorum=2, round_blocks=600, assignment_blocks=80)
    store = tmp_path / "store"
    names = {keypair_from_suri(f"//{n}").ss58_address: n for n in ("Alice", "Bob", "Charlie", "Eve")}
    address = {n: a for a, n in names.items()}
    chain = ChainClient.connect(node.url)
    before = {a: chain.balance(a).free for a in names}
    eve = contributor(tmp_path, "Eve", "--shard", "2")
    workers = [contributor(tmp_path, "Bob", "--shard", "0"), contributor(tmp_path, "Charlie", "--shard", "1")]
    creator = Role("creator", ["--suri", "//Alice", "creator", "run", str(job)], tmp_path / "creator.jsonl")
    try:
        eve.start(node.url, store).wait_for(lambda e: e["type"] == "runner", 60)
        creator.start(node.url, store)
        eve.wait_for(lambda e: e["type"] == "running", 300)
        eve.kill()  # mid-training: the slot stays taken until its deadline
        for worker in workers:
            worker.start(node.url, store)
        creator.wait_for(lambda e: e["type"] == "judged", 300)
        creator.kill()  # mid-round, after one decision
        creator.start(node.url, store)
        node.stop()  # the node goes away for a while and comes back on the same data and port
        time.sleep(3)
        node.start()
        finished = creator.wait_for(lambda e: e["type"] == "finished", 900)
        assert creator.process.wait(120) == 0, creator.stderr()
        for worker in workers:
            assert worker.terminate() == 0, worker.stderr()
    finally:
        for role in (creator, eve, *workers):
            role.kill()

    assert finished["reason"] == "round limit reached: 2 of 2"
    for role in (creator, *workers):  # each said it lost the node, and carried on
        assert any(e["type"] == "node" and not e["connected"] for e in role.events()), role.name
    records = journal(tmp_path / "digits.job" / "journal.jsonl")
    assert [r["round"] for r in records if r["type"] == "round_opened"] == [1, 2]
    decided = [r["submission_id"] for r in records if r["type"] == "judged"]
    assert len(decided) == len(set(decided)) == 4
    tasks = chain.list_tasks(TaskFilter(creator=address["Alice"]))  # by id
    assert len(tasks) == 2 and all(t.status in (TaskStatus.CLOSED, TaskStatus.COMPLETED) for t in tasks)
    first = {s.worker: s for s in chain.task_submissions(tasks[0].task_id)}
    assert first[address["Eve"]].status is SubmissionStatus.EXPIRED and first[address["Eve"]].paid == 0
    closed = next(r for r in records if r["type"] == "round_closed" and r["round"] == 1)
    assert int(closed["refund"]) == REWARD  # Eve's slot's share of the escrow came back
    rewards: dict[str, int] = {}
    for task in tasks:
        for s in chain.task_submissions(task.task_id):
            rewards[s.worker] = rewards.get(s.worker, 0) + s.paid
    assert rewards[address["Bob"]] == rewards[address["Charlie"]] == 2 * REWARD
    check_balances(chain, before, names, rewards)
    chain.close()


def test_manual_accept_job_shows_each_result_and_records_the_creators_decisions(node, tmp_path: Path) -> None:
    """ManualAccept: the job evaluates and shows each result but decides nothing; the creator accepts and rejects
    by hand; the job records those decisions, closes the round at its quorum and federates the accepted one."""
    import subprocess
    import sys

    from decentralml.chain.client import ChainClient
    from decentralml.chain.signer import keypair_from_suri
    from decentralml.chain.types import SubmissionStatus

    job = prepare_job(tmp_path, rounds=1, slots=2, quorum=1)
    job.write_text(job.read_text().replace('validation = "custom"', 'validation = "manual"'))
    store = tmp_path / "store"
    address = {n: keypair_from_suri(f"//{n}").ss58_address for n in ("Bob", "Dave")}
    workers = [contributor(tmp_path, "Bob", "--shard", "0"),
               contributor(tmp_path, "Dave", "--data", str(flipped_labels(tmp_path / "flipped.npz")))]
    creator = Role("creator", ["--suri", "//Alice", "creator", "run", str(job)], tmp_path / "creator.jsonl")
    chain = ChainClient.connect(node.url)
    try:
        for worker in workers:
            worker.start(node.url, store).wait_for(lambda e: e["type"] == "runner", 60)
        creator.start(node.url, store)
        shown = {}
        for name in ("Bob", "Dave"):
            event = creator.wait_for(lambda e, a=address[name]: e["type"] == "awaiting_decision" and e["worker"] == a, 600)
            shown[name] = event
            assert chain.get_submission(event["submission_id"]).status is SubmissionStatus.PENDING_VALIDATION
        assert shown["Bob"]["passed"] is True and shown["Dave"]["passed"] is False
        assert not any(e["type"] == "judged" for e in creator.events())  # nothing decided by the job
        for verb, name in (("reject-result", "Dave"), ("accept-result", "Bob")):
            done = subprocess.run([sys.executable, "-m", "decentralml.cli.app", "--url", node.url, "--suri", "//Alice",
                                   verb, str(shown[name]["submission_id"])], capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
        finished = creator.wait_for(lambda e: e["type"] == "finished", 600)
        assert creator.process.wait(120) == 0, creator.stderr()
        for worker in workers:
            assert worker.terminate() == 0, worker.stderr()
    finally:
        for role in (creator, *workers):
            role.kill()
        chain.close()
    assert finished["reason"] == "round limit reached: 1 of 1"
    judged = {e["worker"]: e for e in creator.events() if e["type"] == "judged"}
    assert judged[address["Bob"]]["decision"] == "accepted" and judged[address["Bob"]]["decided_by"] == "creator"
    assert judged[address["Dave"]]["decision"] == "rejected" and judged[address["Dave"]]["reward"] == "0"
    federated = next(e for e in creator.events() if e["type"] == "federated")
    assert [c["worker"] for c in federated["contributions"]] == [address["Bob"]]
