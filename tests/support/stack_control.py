"""Crashing a component of the running stack, and waiting for the supervisor to restart it."""

from __future__ import annotations

import os
import signal
import time

from stack import status
from stack.settings import Settings


def component(config: Settings, name: str) -> dict:
    current = status.read(config)
    assert current and name in current["components"], f"no component {name} in the stack"
    return current["components"][name]


def kill_hard(config: Settings, name: str) -> int:
    """kill -9 the component's process group; returns the restart count before the kill."""
    before = component(config, name)
    os.killpg(before["pid"], signal.SIGKILL)
    return before["restarts"]


def wait_restarted(config: Settings, name: str, restarts_before: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = component(config, name)
        if now["restarts"] > restarts_before and now["state"] == "ready":
            return
        time.sleep(0.5)
    raise TimeoutError(f"{name} was not restarted and ready within {timeout:.0f}s")
