"""Times the garbage collector's full collections, the gateway's longest pauses.

A full (generation 2) collection walks every object the gateway holds, every connection's
included, while nothing else runs: at thousands of clients it is the one pause that holds up a
change's fan-out for all of them. ``soe_gc_full_pause_seconds`` shows how long and how often.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from soe import metrics

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
