"""When the gateway fanned out its latest BalanceChanged events, and to how many connections.

Read by ops (`GET /fan-out`, `bankctl trace`) to see the last hop of a change. Bounded: only the
most recent events are remembered, at a constant cost per event.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_CAPACITY = 10_000


@dataclass(frozen=True)
class FanOut:
    fanned_out_at: int  # epoch ms, when the event was queued to its watchers
    watchers: int  # connections it was queued to; 0 when no one watched the account
    at_start: bool  # read back while catching up at start: no client could be connected yet


class FanOutLog:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"a fan-out log must hold at least one event, not {capacity}")
        self.capacity = capacity
        self._entries: OrderedDict[str, FanOut] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def record(
        self, event_id: str, watchers: int, *, at_start: bool = False, at: int | None = None
    ) -> None:
        """Remember one fan-out, forgetting the oldest once ``capacity`` are held."""
        fanned_out_at = time.time_ns() // 1_000_000 if at is None else at
        self._entries[event_id] = FanOut(fanned_out_at, watchers, at_start)
        self._entries.move_to_end(event_id)
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def get(self, event_id: str) -> FanOut | None:
        return self._entries.get(event_id)

    def lookup(self, event_ids: Iterable[str]) -> dict[str, FanOut]:
        """The fan-outs of those ids still remembered; the others are simply absent."""
        return {i: found for i in event_ids if (found := self._entries.get(i)) is not None}
