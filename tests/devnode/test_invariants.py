"""Property-based: random call sequences from random dev accounts keep the books balanced.

After every block: total issuance = sum of all balances = genesis issuance - burned
(fees and dust, announced by ``Balances.BurnedDebt``; ``Balances.burn``, by ``Burned``); every open task's escrow
holds exactly its outstanding rewards and a finished task's escrow is gone; no
submission is paid twice and each task's ``paid`` is the sum of its payments.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from substrateinterface import Keypair

from decentralml.devnode.runtime import Runtime
from decentralml.devnode.runtime.decentralml import (
    ACCEPTED,
    OPEN,
    SUBMISSIONS,
    TASKS,
    Submission,
    Task,
    escrow_account,
)
from decentralml.devnode.runtime.keys import BALANCES_TOTAL_ISSUANCE, SYSTEM_ACCOUNT
from decentralml.devnode.runtime.testkit import (
    Chain,
    EventDecoder,
    Signer,
    asset_ref,
    create_task_args,
    id_arg,
    send_task_result_args,
    task_assets,
    validate_args,
)
from decentralml.devnode.runtime.types import AccountInfo
from decentralml.primitives.scale import compact

UNIT = 10**12
NAMES = ["Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie"]
SIGNERS = [Signer(k.public_key, k.sign) for k in (Keypair.create_from_uri(f"//{n}") for n in NAMES)]


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime()


@pytest.fixture(scope="module")
def decoder(runtime: Runtime) -> EventDecoder:
    return EventDecoder(runtime)


op = st.one_of(
    st.tuples(st.just("transfer"), st.integers(0, 5), st.integers(0, 5), st.sampled_from([10**9 - 1, 10**9, UNIT, 10**18])),
    st.tuples(
        st.just("create"), st.integers(0, 5), st.integers(0, 2), st.integers(1, 3),
        st.sampled_from([10**10, UNIT, 2**59]), st.integers(1, 8), st.integers(1, 4),
    ),
    st.tuples(st.just("assign"), st.integers(0, 5), st.integers(0, 4)),
    st.tuples(st.just("assign"), st.integers(0, 5), st.integers(0, 4)),
    st.tuples(st.just("send"), st.integers(0, 8)),
    st.tuples(st.just("send"), st.integers(0, 8)),
    st.tuples(st.just("validate"), st.integers(0, 8), st.booleans()),
    st.tuples(st.just("accept"), st.integers(0, 8)),
    st.tuples(st.just("accept"), st.integers(0, 8)),
    st.tuples(st.just("reject"), st.integers(0, 8)),
    st.tuples(st.just("close"), st.integers(0, 5), st.integers(0, 4)),
    st.tuples(st.just("wait"), st.integers(1, 4)),
    st.tuples(st.just("burn"), st.integers(0, 5), st.sampled_from([1, UNIT, 2**60]), st.booleans()),
)  # fmt: skip


def _values_under(chain: Chain, prefix: bytes) -> list[tuple[bytes, bytes]]:
    return sorted((k, v) for k, v in chain.state.items.items() if k.startswith(prefix))


def _check_books(chain: Chain, genesis_issuance: int, burned: int, paid_events: dict[int, int]) -> None:
    rt = chain.rt
    issuance = int.from_bytes(chain.state.get(BALANCES_TOTAL_ISSUANCE) or b"", "little")
    accounts = [AccountInfo.decode(v) for _, v in _values_under(chain, SYSTEM_ACCOUNT)]
    assert issuance == sum(a.free + a.reserved for a in accounts)
    assert issuance == genesis_issuance - burned
    assert all(a.free >= 10**9 for a in accounts)
    limits = rt.limits  # type: ignore[attr-defined]
    subs = [Submission.decode(v, limits) for _, v in _values_under(chain, SUBMISSIONS)]
    for key, raw in _values_under(chain, TASKS):
        task_id = int.from_bytes(key[-8:], "little")
        task = Task.decode(raw, limits)
        mine = [s for s in subs if s.task_id == task_id]
        assert task.paid == sum(s.paid for s in mine) == task.pays_amount * task.accepted
        assert task.accepted == sum(1 for s in mine if s.status == ACCEPTED)
        escrow = chain.free(escrow_account(task_id))
        if task.status == OPEN:
            assert escrow == task.pays_amount * task.max_assignments - task.paid
        else:
            assert escrow == 0
    assert all(count == 1 for count in paid_events.values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=8, max_size=40))
def test_random_calls_keep_the_books(runtime: Runtime, decoder: EventDecoder, ops: list[tuple]) -> None:
    ops = [("create", 0, 1, 2, UNIT, 8, 4), *ops]  # always one task to work on
    chain = Chain(runtime)
    b = chain.builder
    accounts = [s.account for s in SIGNERS]
    genesis_issuance = int.from_bytes(chain.state.get(BALANCES_TOTAL_ISSUANCE) or b"", "little")
    burned = 0
    paid_events: dict[int, int] = {}
    nonces = [0] * len(SIGNERS)
    tasks: list[int] = []  # task ids seen, in creation order
    task_creator: dict[int, int] = {}
    subs: list[int] = []  # submission ids seen
    sub_worker: dict[int, int] = {}
    sub_task: dict[int, int] = {}
    assets = task_assets(0, asset_ref(0, b"bafy", b"\x01" * 32))

    def pick_task(i: int) -> int:
        return tasks[i % len(tasks)] if tasks else i

    def pick_sub(i: int) -> int:
        return subs[i % len(subs)] if subs else i

    for step in ops:
        kind = step[0]
        who, call = 0, b""
        if kind == "transfer":
            _, who, dst, amount = step
            call = b.transfer(accounts[dst], amount)
        elif kind == "create":
            _, who, strategy, slots, reward, expiry, deadline = step
            args = create_task_args(0, b"label", reward, slots, strategy, chain.number + 1 + expiry, min(deadline, expiry), assets)
            call = b.call("DecentralMLModule", "create_task", args)
        elif kind == "assign":
            _, who, i = step
            task = pick_task(i)
            if task_creator.get(task) == who:
                who = (who + 1) % len(SIGNERS)
            call = b.call("DecentralMLModule", "assign_task", id_arg(task))
        elif kind == "send":
            sid = pick_sub(step[1])
            who = sub_worker.get(sid, 0)
            call = b.call("DecentralMLModule", "send_task_result", send_task_result_args(sid, asset_ref(0, b"res", b"\x02" * 32)))
        elif kind in ("validate", "accept", "reject"):
            sid = pick_sub(step[1])
            who = task_creator.get(sub_task.get(sid, -1), 0)
            args = validate_args(sid, step[2], 5_000) if kind == "validate" else id_arg(sid)
            call = b.call("DecentralMLModule", f"{kind}_task_result", args)
        elif kind == "burn":
            _, who, amount, keep_alive = step
            call = b.call("Balances", "burn", compact(amount) + (b"\x01" if keep_alive else b"\x00"))
        elif kind == "close":
            _, who, i = step
            call = b.call("DecentralMLModule", "close_task", id_arg(pick_task(i)))
        xts = []
        if call:
            xts.append(b.sign(SIGNERS[who], call, nonces[who]))
            nonces[who] += 1
        for _ in range(step[1] if kind == "wait" else 1):
            result = chain.produce(xts)
            xts = []
            assert result.rejected == []  # type: ignore[attr-defined]
            for event in decoder.decode(result.events):  # type: ignore[attr-defined]
                attrs = event.attributes
                if event.name in ("Balances.BurnedDebt", "Balances.Burned"):
                    burned += attrs["amount"]
                elif event.name == "DecentralMLModule.TaskCreated":
                    tasks.append(attrs["task_id"])
                    task_creator[attrs["task_id"]] = accounts.index(bytes.fromhex(attrs["creator"][2:]))
                elif event.name == "DecentralMLModule.TaskAssigned":
                    sid = attrs["submission_id"]
                    subs.append(sid)
                    sub_worker[sid] = accounts.index(bytes.fromhex(attrs["worker"][2:]))
                    sub_task[sid] = attrs["task_id"]
                elif event.name == "DecentralMLModule.TaskResultAccepted":
                    sid = attrs["submission_id"]
                    paid_events[sid] = paid_events.get(sid, 0) + 1
            _check_books(chain, genesis_issuance, burned, paid_events)
