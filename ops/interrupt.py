"""Ctrl-C for commands that wait on Kafka.

Python turns SIGINT into a KeyboardInterrupt wherever the main thread happens to be, and that can
be inside one of librdkafka's callbacks, which swallows it: a command waiting on Kafka would go on
waiting. Instead the signal sets an event that the waiting loop checks after each short wait, so
the command stops at the next check and closes its consumer. A second Ctrl-C stops at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_requested() -> Iterator[threading.Event]:
    """An event set by the first Ctrl-C (or SIGTERM) while the block runs."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {number: signal.signal(number, on_signal) for number in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
