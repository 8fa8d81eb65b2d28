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
from stack import pids


@dataclass
class Component:
    name: str
    description: str
    state: str = "waiting"  # waiting, starting, ready, restarting, failed, stopped
    pid: int | None = None
    # The pid's start time (stack/pids.py): a pid read back later is signalled only when it is
    # still this process.
    pid_started: int | None = None
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
    supervisor_started: int | None = None
    scope: str = "all"  # all, or database: MariaDB alone (`stack up --database-only`)
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
    """Whether the supervisor the status names is still running (and is that supervisor, not a
    process that was given its pid since)."""
    if not status or not status.get("supervisor_pid"):
        return False
    pid = status["supervisor_pid"]
    if status.get("supervisor_started") is not None:
        alive = pids.is_same(pid, status["supervisor_started"])
    else:  # a status file written before start times were kept: recognise it by its command
        alive = "stack.supervisor" in " ".join(_command(pid))
    try:
        return alive and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def supervisor_started(status: dict[str, Any]) -> int | None:
    """The supervisor's start time, for a signal to it (stack/pids.py); read from /proc when
    the status file predates start times and the command says it is the supervisor."""
    if status.get("supervisor_started") is not None:
        return status["supervisor_started"]
    return pids.start_time(status["supervisor_pid"]) if supervisor_alive(status) else None


def _command(pid: int) -> list[str]:
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []
