"""Sample counts for weighting: bounded by the creator, not taken from the contributor.

FedAvg weights each update by the number of samples it trained on
(McMahan et al., 2017), a number the contributor writes itself. Before it
weighs anything, :func:`bound_sample_counts` clips each claim to

* the creator's shard size (what one contributor's shard holds, from the
  creator's settings), when the creator states it, and
* :data:`MEDIAN_MULTIPLE` times the median claim of the round (after the first
  bound), so that one contributor cannot outweigh the others by claiming more;

and refuses claims that are not integers from 1 to
:data:`~decentralml.fl.weights.MAX_SAMPLES`. Robust rules (median, trimmed
mean, Krum) do not weigh by counts, so clipping changes nothing for them.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from decentralml.errors import TrainingError
from decentralml.fl.weights import MAX_SAMPLES

#: A count may be at most this many times the round's median count.
MEDIAN_MULTIPLE = 2


@dataclass(frozen=True)
class SampleCount:
    """One update's claimed count, the count used for weighting, and why they differ."""

    claimed: int
    used: int
    reason: str = ""

    @property
    def clipped(self) -> bool:
        return self.used != self.claimed


def check_sample_count(value: object, what: str = "the update") -> int:
    """``value`` as a sane sample count (an integer from 1 to MAX_SAMPLES); TrainingError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_SAMPLES:
        raise TrainingError(f"{what} reports {str(value)[:40]} samples: a count must be an integer from 1 to {MAX_SAMPLES}.")
    return value


def bound_sample_counts(
    claimed: Sequence[int], *, shard_size: int | None = None, median_multiple: float = MEDIAN_MULTIPLE
) -> list[SampleCount]:
    """The counts to weigh by, in the order given: each claim clipped to ``shard_size`` and to
    ``median_multiple`` x the median of the (shard-clipped) claims. Raises TrainingError for an
    insane claim or an invalid ``shard_size``."""
    counts = [check_sample_count(c, f"update {i}") for i, c in enumerate(claimed)]
    if shard_size is not None:
        check_sample_count(shard_size, "the creator's shard size")
    first = [min(c, shard_size) if shard_size is not None else c for c in counts]
    if not first:
        return []
    cap = max(1, int(median_multiple * statistics.median(first)))
    out = []
    for claim, after_shard in zip(counts, first):
        used = min(after_shard, cap)
        reasons = []
        if shard_size is not None and claim > shard_size:
            reasons.append(f"above the shard size {shard_size}")
        if after_shard > cap:
            reasons.append(f"above {median_multiple:g}x the round's median ({cap})")
        out.append(SampleCount(claim, used, "clipped: " + ", ".join(reasons) if reasons else ""))
    return out
