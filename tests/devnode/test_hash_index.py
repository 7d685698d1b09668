"""The sweep that writes block hashes to the store's index: bounds and the ``indexed`` promise."""

from __future__ import annotations

import random

import pytest

from decentralml.devnode.hash_index import PREFIX, PendingHashes


def _run(batch: int, groups: list[int], seed: int) -> None:
    rng = random.Random(seed)
    pending = PendingHashes(batch)
    written: dict[int, bytes] = {}
    waiting: dict[int, int] = {}  # block number -> block count when it was added, for those not yet written
    number = 0
    for group in groups:
        new = [(rng.randbytes(32), n) for n in range(number, number + group)]
        step = pending.step(new, number + group)
        assert step.rows == sorted(step.rows)
        for prefix, n in step.rows:
            assert n not in written, f"block {n} written twice"
            written[n] = prefix
            waiting.pop(n, None)
        pending.apply(new, step)
        for block_hash, n in new:
            if n in written:
                assert written[n] == block_hash[:PREFIX]
            else:
                assert pending.get(block_hash) == n
                waiting[n] = number
        number += group
        # Every block before `indexed` is in the index; none waits longer than one sweep after the commit that added it.
        oldest = min(waiting, default=number)
        assert pending.indexed <= oldest
        assert oldest == number or number - waiting[oldest] <= batch + group
        assert len(pending) == len(waiting) <= batch + max(groups)


@pytest.mark.parametrize("seed", range(5))
def test_every_hash_is_written_once_within_a_sweep_and_indexed_is_a_safe_floor(seed: int) -> None:
    rng = random.Random(seed)
    _run(64, [rng.choice([1, 1, 2, 7, 30, 63]) for _ in range(400)], seed)


@pytest.mark.parametrize("groups", [[1] * 300, [64] * 10, [65, 1, 200, 3], [1000]])
def test_commits_of_a_sweep_or_more_write_everything(groups: list[int]) -> None:
    _run(64, groups, 7)


def test_a_restart_that_reads_back_written_hashes_writes_each_again_at_most_once() -> None:
    rng = random.Random(3)
    pending = PendingHashes(16)
    blocks: list[tuple[bytes, int]] = []
    for n in range(100):
        new = [(rng.randbytes(32), n)]
        blocks += new
        pending.apply(new, pending.step(new, n + 1))
    again = PendingHashes(16, cursor=pending.cursor, sweep_start=pending.sweep_start, indexed=pending.indexed,
                          waiting=[b for b in blocks if b[1] >= pending.indexed])
    assert len(again) <= 2 * 16 + 1
    rewritten: list[int] = []
    for n in range(100, 140):
        new = [(rng.randbytes(32), n)]
        step = again.step(new, n + 1)
        rewritten += [number for _, number in step.rows if number < 100]
        again.apply(new, step)
    assert len(rewritten) == len(set(rewritten))
    assert all(again.get(block_hash) is None for block_hash, n in blocks if n < 100)


def test_a_sweep_of_no_block_is_refused() -> None:
    with pytest.raises(ValueError):
        PendingHashes(0)
