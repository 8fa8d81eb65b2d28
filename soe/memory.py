"""Gives the memory of departed clients back to the system.

When thousands of clients leave, CPython frees their objects but glibc's allocator keeps the
freed pages in its arenas: the gateway's resident memory stays at its peak for hours. Once
departures have quietened down, one full walk frees the departed clients' reference cycles (they
were frozen out of the collector's walks while connected, soe/collector.py) and ``malloc_trim``
returns the free pages. Departures that never quieten down (a steady trickle) are released
at the latest MAX_WAIT_SECONDS after the first of them, so memory comes back within a minute.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable

from soe.collector import collect_everything

log = logging.getLogger(__name__)

QUIET_SECONDS = 5.0
MAX_WAIT_SECONDS = 45.0
# Fewer departures than this are not worth a trim (it walks the whole heap).
DEPARTURES_WORTH_A_TRIM = 200


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on a C library without it (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


class MemoryRelease:
    """Counts departures; once none came for QUIET_SECONDS after enough of them, or
    MAX_WAIT_SECONDS after the first of them, walks everything and trims."""

    def __init__(
        self, quiet_seconds: float = QUIET_SECONDS, max_wait_seconds: float = MAX_WAIT_SECONDS
    ) -> None:
        self.quiet_seconds = quiet_seconds
        self.max_wait_seconds = max_wait_seconds
        self.departures = 0
        self.trims = 0
        self._first_at: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._trim = _malloc_trim()

    def departed(self) -> None:
        self.departures += 1
        now = time.monotonic()
        if self._first_at is None:
            self._first_at = now
        if self.departures < DEPARTURES_WORTH_A_TRIM:
            return
        if self._timer is not None:
            self._timer.cancel()
        delay = min(self.quiet_seconds, max(0.0, self._first_at + self.max_wait_seconds - now))
        self._timer = asyncio.get_running_loop().call_later(delay, self.release)

    def release(self) -> None:
        self._timer = None
        self._first_at = None
        departed, self.departures = self.departures, 0
        collect_everything()  # frozen objects too (soe/collector.py): departed clients' cycles
        if self._trim is not None:
            self._trim(0)
        self.trims += 1
        log.info("%d clients left: freed memory returned to the system", departed)
