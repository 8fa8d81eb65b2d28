"""Waiting on what a child process prints instead of sleeping a guessed time (kernel/wait.py
waits on a condition)."""

from __future__ import annotations

import select
import time
from typing import IO


def wait_for_line(stream: IO[str], text: str, timeout: float = 30) -> str:
    """The first line of a child's output that holds `text`; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([stream], [], [], left)
        if ready:
            line = stream.readline()
            if not line:
                break  # the child closed it: it ended
            if text in line:
                return line
    raise AssertionError(f"no line with {text!r} within {timeout:g} s")
