"""What the client knows of the DecentralML pallet: its name and its limits.

The limits are the pallet's ``#[pallet::constant]`` values, read from the
node's metadata by :attr:`decentralml.chain.client.ChainClient.limits`; the
client never hard-codes them. ``tests/chain/test_pallet_facts.py`` pins the
client's names against ``pallet-spec/metadata``.
"""

from __future__ import annotations

from dataclasses import dataclass

from decentralml.errors import UsageError
from decentralml.primitives.scale import U32_MAX, U64_MAX

#: The pallet's name in the runtime (``construct_runtime!``): storage, calls, events and errors live under it.
PALLET = "DecentralMLModule"

#: The largest value of each integer the pallet's calls take, by the type the metadata gives it
#: (pallet-spec: ``TaskId`` and ``SubmissionId`` are u64; ``BlockNumberFor<T>`` is the runtime's u32,
#: so expiries and deadlines are too; ``max_assignments`` is a u32, within ``MaxAssignmentsPerTask``).
#: tests/chain/test_pallet_facts.py pins each against the metadata.
MAX_TASK_ID = U64_MAX
MAX_SUBMISSION_ID = U64_MAX
MAX_BLOCK_NUMBER = U32_MAX
MAX_ASSIGNMENTS = U32_MAX

#: A validation score is in basis points, ``0..=MAX_SCORE`` (the pallet's ``InvalidScore`` check).
MAX_SCORE = 10_000


@dataclass(frozen=True)
class PalletLimits:
    """The pallet's constants, from the node's metadata (sizes in bytes, amounts in planck)."""

    max_question_len: int  #: ``MaxQuestionLen``: bytes of a task question
    max_uri_len: int  #: ``MaxUriLen``: bytes of an asset or result URI
    max_inline_result_len: int  #: ``MaxInlineResultLen``: bytes of a submission's inline result
    max_assignments_per_task: int  #: ``MaxAssignmentsPerTask``: the most slots a task may have
    min_reward: int  #: ``MinReward``: the least reward per assignment

    def check_uri(self, uri: str) -> None:
        """UsageError unless ``uri`` fits the chain's ``MaxUriLen`` (in UTF-8 bytes)."""
        size = len(uri.encode("utf-8"))
        if size > self.max_uri_len:
            raise UsageError(
                f"The artifact URI is {size} bytes, over the chain's {self.max_uri_len}.",
                hint="Use a shorter bucket, prefix or file path.",
            )



#: The metadata constant behind each field of :class:`PalletLimits`.
LIMIT_CONSTANTS = {
    "max_question_len": "MaxQuestionLen",
    "max_uri_len": "MaxUriLen",
    "max_inline_result_len": "MaxInlineResultLen",
    "max_assignments_per_task": "MaxAssignmentsPerTask",
    "min_reward": "MinReward",
}
