"""Notices a Kafka call that outlives its own timeout, from a thread of its own.

librdkafka's transaction calls take a timeout, and some do not keep it: sending a batch's offsets
to its transaction waits, past its timeout, for a group coordinator whose broker has left the
cluster's metadata (a broker shut down in a rolling restart), until some other broker changes
state (librdkafka issues #5456 and #5511; seen with 2.12). The derivation thread then sits in that
one call: its partitions held, its transaction rolled back by the coordinator, nothing derived
and nothing logged, for as long as the brokers stay as they are (minutes after the last broker of
a rolling restart is back). The thread cannot be woken from outside; the worker can stop, and its
restart fences the stuck producer and takes its partitions back (static membership).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)

# How often the watchdog looks at the call in progress.
CHECK_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class Call:
    what: str
    started: float
    limit: float  # seconds it may take, its own timeout included


# Told what is stuck and for how long; the worker's stops the process.
OnStuck = Callable[[str, float], None]


class Watchdog:
    """Watches one call at a time (the derivation thread's); ``on_stuck`` is called once, from
    the watchdog's thread, when a call runs past its limit."""

    def __init__(self, on_stuck: OnStuck, clock: Callable[[], float] = time.monotonic) -> None:
        self._on_stuck = on_stuck
        self._clock = clock
        self._lock = threading.Lock()
        self._call: Call | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, what: str, limit: float) -> Iterator[None]:
        """Around a call that must return within ``limit`` seconds."""
        with self._lock:
            self._call = Call(what, self._clock(), limit)
        try:
            yield
        finally:
            with self._lock:
                self._call = None

    def check(self) -> bool:
        """Calls ``on_stuck`` if the call in progress is past its limit; True then."""
        with self._lock:
            call = self._call
            if call is None:
                return False
            took = self._clock() - call.started
            if took <= call.limit:
                return False
            self._call = None  # told once
        self._on_stuck(call.what, took)
        return True

    def start(self, every: float = CHECK_EVERY_SECONDS) -> None:
        def run() -> None:
            while not self._stopping.wait(every):
                self.check()

        self._thread = threading.Thread(target=run, name="watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
