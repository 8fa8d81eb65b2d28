"""The supervisor's status file: what `stack up`, `stack status` and the tests read."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from kernel.settings import Settings


@dataclass
class Component:
    name: str
    description: str
    state: str = "waiting"  # waiting, starting, ready, restarting, failed, stopped
    pid: int | None = None
    ports: dict[str, int] = field(default_factory=dict)
    log: str = ""
    restarts: int = 0
    since: float = field(default_factory=time.time)
    # Why and when it last died, for `make status`: "exit code 1" or "killed by SIGKILL".
    last_exit: str | None = None
    last_exit_at: float | None = None


@dataclass
class StackStatus:
    supervisor_pid: int
    phase: str = "starting"  # starting, ready, failed, stopping, stopped
    step: str = ""
    error: str | None = None
    components: dict[str, Component] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    ready_at: float | None = None


def status_file(settings: Settings) -> Path:
    return settings.path("run", "status.json")


def write(settings: Settings, status: StackStatus) -> None:
    path = status_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(status), indent=2))
    os.replace(temporary, path)


def read(settings: Settings) -> dict[str, Any] | None:
    try:
        return json.loads(status_file(settings).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def supervisor_alive(status: dict[str, Any] | None) -> bool:
    if not status:
        return False
    pid = status.get("supervisor_pid")
    try:
        return (
            bool(pid)
            and psutil.Process(pid).is_running()
            and psutil.Process(pid).status() != (psutil.STATUS_ZOMBIE)
        )
    except psutil.NoSuchProcess:
        return False
