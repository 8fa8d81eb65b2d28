"""Keeps connected clients' objects out of the garbage collector's walks, and times the walks.

A full (generation 2) collection walks every object the gateway holds, while nothing else runs.
A connection holds about 180 objects the collector tracks (uvicorn's protocol, the websocket
parser, the ASGI task and its coroutines, the session's tasks, queues and futures): at 10,000
clients a walk took 1 s on a quiet two-core machine, 4 to 12 s on a loaded one (docs/performance.md,
fan-out), and every change waiting to be fanned out waited for it. Connections live for minutes
or hours, so once a burst of arrivals has settled, what exists is frozen (``gc.freeze``): later
walks look only at what came after, a few thousand objects.

Reference counting still frees what a departed client leaves, except its reference cycles (about
50 objects per connection, in uvicorn's and websockets' objects). Those are freed by the walk
after departures (soe/memory.py), which unfreezes everything first: one full walk per wave of
departures instead of one every few seconds while changes flow.
``soe_gc_full_pause_seconds`` shows how long and how often the gateway paused.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from soe import metrics

# After the first arrival of a burst, its handshakes have settled within this: then freeze.
FREEZE_AFTER_SECONDS = 1.0

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


def freeze_what_lives() -> None:
    """Frees what is garbage among the objects not frozen yet (a walk over those only), then
    freezes the rest, so no garbage cycle is frozen along with the living."""
    gc.collect()
    gc.freeze()


def collect_everything() -> None:
    """One full walk over every object, frozen ones included; what lives on is frozen again."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class Freezer:
    """Freezes what lives FREEZE_AFTER_SECONDS after the first arrival of a burst: arrivals
    during that second wait for the same freeze."""

    def __init__(self, freeze_after: float = FREEZE_AFTER_SECONDS) -> None:
        self.freeze_after = freeze_after
        self.freezes = 0
        self._timer: asyncio.TimerHandle | None = None

    def arrived(self) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.freeze_after, self._freeze)

    def _freeze(self) -> None:
        self._timer = None
        freeze_what_lives()
        self.freezes += 1
