"""Gives the memory of departed clients back to the system.

When thousands of clients leave, CPython frees their objects but glibc's allocator keeps the
freed pages in its arenas: the gateway's resident memory stays at its peak for hours. Once
departures have quietened down, ``malloc_trim`` returns the free pages.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable

from soe.collector import collect_everything

log = logging.getLogger(__name__)

QUIET_SECONDS = 5.0
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
    """Counts departures; once none came for QUIET_SECONDS after enough of them, trims."""

    def __init__(self, quiet_seconds: float = QUIET_SECONDS) -> None:
        self.quiet_seconds = quiet_seconds
        self.departures = 0
        self.trims = 0
        self._timer: asyncio.TimerHandle | None = None
        self._trim = _malloc_trim()

    def departed(self) -> None:
        self.departures += 1
        if self.departures < DEPARTURES_WORTH_A_TRIM:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(self.quiet_seconds, self.release)

    def release(self) -> None:
        self._timer = None
        departed, self.departures = self.departures, 0
        collect_everything()  # frozen objects too (soe/collector.py): departed clients' cycles
        if self._trim is not None:
            self._trim(0)
        self.trims += 1
        log.info("%d clients left: freed memory returned to the system", departed)
