"""Keeps connected clients' objects out of the garbage collector's full walks, and times them.

A full (generation 2) collection walks every object the gateway holds, every connection's
included, while nothing else runs: at 10,000 clients a walk took seconds on the two-core machine
(docs/performance.md, fan-out), holding up every change's fan-out. Connections live for minutes
or hours, so once clients have arrived their objects are frozen (``gc.freeze``): the walks then
look only at what came after. Reference counting still frees a departed client's objects; what
only a walk could free (reference cycles) is freed by the walk after departures (soe/memory.py)
or by the one every FULL_WALK_SECONDS, which unfreeze everything first.
``soe_gc_full_pause_seconds`` shows how long and how often the gateway paused.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from soe import metrics

# After a client arrives, its handshake's objects are settled within this: then freeze.
FREEZE_AFTER_SECONDS = 1.0
# Cycles frozen by mistake (a handshake that failed just after a freeze) wait at most this long.
FULL_WALK_SECONDS = 600.0

_started: float | None = None


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    global _started
    if info.get("generation") != 2:
        return
    if phase == "start":
        _started = time.perf_counter()
    elif _started is not None:
        metrics.GC_FULL_PAUSES.observe(time.perf_counter() - _started)
        _started = None


def time_full_collections() -> None:
    """Start timing (once per process)."""
    if _on_collection not in gc.callbacks:
        gc.callbacks.append(_on_collection)


def collect_everything() -> None:
    """One full walk over every object, frozen ones included; what lives on is frozen again."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class Freezer:
    """Freezes what exists FREEZE_AFTER_SECONDS after clients arrive (once per burst of
    arrivals), and walks everything every FULL_WALK_SECONDS."""

    def __init__(
        self,
        freeze_after: float = FREEZE_AFTER_SECONDS,
        full_walk_every: float = FULL_WALK_SECONDS,
    ) -> None:
        self.freeze_after = freeze_after
        self.full_walk_every = full_walk_every
        self.freezes = 0
        self._timer: asyncio.TimerHandle | None = None

    def arrived(self) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.freeze_after, self._freeze)

    def _freeze(self) -> None:
        self._timer = None
        gc.freeze()
        self.freezes += 1

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.full_walk_every)
            collect_everything()
