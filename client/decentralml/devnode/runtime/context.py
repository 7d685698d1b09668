"""Execution context: storage overlay, events with phases and frame_system's account refs."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from decentralml.primitives.scale import compact, u32

from . import keys
from .state import Overlay, StateView
from .types import CONSUMER_REMAINING, AccountInfo, DispatchFailure

if TYPE_CHECKING:
    from . import Runtime
    from .runtime_index import RuntimeIndex

PHASE_INITIALIZATION = b"\x02"


@lru_cache(maxsize=16384)
def _decode_account(raw: bytes) -> tuple[int, ...]:
    a = AccountInfo.decode(raw)
    return (a.nonce, a.consumers, a.providers, a.sufficients, a.free, a.reserved, a.frozen, a.flags)


PHASE_FINALIZATION = b"\x01"


class Context:
    """One block (or one validation) in progress over a parent state."""

    def __init__(self, runtime: Runtime, state: StateView, number: int) -> None:
        self.rt = runtime
        self.idx: RuntimeIndex = runtime.index
        self.overlay = Overlay(state)
        self.number = number
        self.phase = PHASE_INITIALIZATION
        self.events: list[bytes] = []
        self._event_marks: list[int] = []

    # storage transactions, events included
    def begin(self) -> None:
        self.overlay.begin()
        self._event_marks.append(len(self.events))

    def commit(self) -> None:
        self.overlay.commit()
        self._event_marks.pop()

    def rollback(self) -> None:
        self.overlay.rollback()
        del self.events[self._event_marks.pop() :]

    @property
    def depth(self) -> int:
        return len(self._event_marks)

    def rollback_to(self, depth: int) -> None:
        """Undo every storage layer opened since ``depth`` (after an unexpected failure)."""
        while len(self._event_marks) > depth:
            self.rollback()

    def set_phase_apply(self, index: int) -> None:
        self.phase = b"\x00" + u32(index)

    def deposit_event(self, pallet: str, event: str, fields: bytes = b"") -> None:
        """Append ``EventRecord{phase, event, topics: []}`` for ``pallet.event``."""
        self.events.append(self.phase + self.idx.event_prefix(pallet, event) + fields + b"\x00")

    def encoded_events(self) -> bytes:
        return compact(len(self.events)) + b"".join(self.events)

    # frame_system accounts
    def account(self, who: bytes) -> AccountInfo:
        raw = self.overlay.get(keys.account(who))
        return AccountInfo(*_decode_account(raw)) if raw is not None else AccountInfo()

    def put_account(self, who: bytes, info: AccountInfo) -> None:
        self.overlay.set(keys.account(who), info.encode())

    def remove_account(self, who: bytes) -> None:
        self.overlay.kill(keys.account(who))

    def inc_providers(self, who: bytes, info: AccountInfo) -> None:
        """``frame_system::inc_providers`` on an in-memory record (NewAccount on creation)."""
        if info.providers == 0 and info.sufficients == 0:
            info.providers = 1
            self.deposit_event("System", "NewAccount", who)
        else:
            info.providers += 1

    def dec_providers(self, who: bytes, info: AccountInfo) -> bool:
        """``frame_system::dec_providers``; True when the account is reaped (KilledAccount)."""
        if info.providers == 0:
            return False
        if info.providers == 1 and info.consumers == 0 and info.sufficients == 0:
            self.deposit_event("System", "KilledAccount", who)
            return True
        if info.providers == 1 and info.consumers > 0:
            raise DispatchFailure(CONSUMER_REMAINING, "ConsumerRemaining")
        info.providers -= 1
        return False

    def inc_nonce(self, who: bytes) -> None:
        info = self.account(who)
        info.nonce += 1
        self.put_account(who, info)
