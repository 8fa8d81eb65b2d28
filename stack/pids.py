"""A process named by its pid and its start time, so that a signal never reaches a stranger.

The kernel hands a freed pid to the next process that asks. A pid read from the status file after
the stack was stopped, or after the machine rebooted, may name someone else's process by then;
only the start time tells them apart. A signal to one process goes through a pidfd opened before
the check: the pidfd stays bound to the process that had the pid then, and a start time that
matches after it was opened proves that process is ours.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name; None when there is no such pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
    return stat[stat.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """When the process started, in clock ticks after boot (field 22 of /proc/<pid>/stat); None
    when there is no such process."""
    fields = _stat(pid)
    return None if fields is None else int(fields[19])  # fields[0] is field 3, the state


def running(pid: int, started: int | None) -> bool:
    """Whether the process that started at `started` still runs (a zombie has ended: it only
    waits for its parent to read its exit code)."""
    fields = _stat(pid)
    return (
        started is not None
        and fields is not None
        and int(fields[19]) == started
        and (fields[0] != "Z")
    )


@contextlib.contextmanager
def _pidfd(pid: int) -> Iterator[int | None]:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


def is_same(pid: int, started: int | None) -> bool:
    """Whether `pid` is still the process that started at `started`."""
    return started is not None and start_time(pid) == started


def send(pid: int, started: int | None, signum: int, group: bool = False) -> bool:
    """Sends the signal to the process (or, with `group`, to the process group it leads) only
    when it is the one that started at `started`; returns whether it was sent."""
    with _pidfd(pid) as fd:
        if fd is None or not is_same(pid, started):
            return False
        try:
            if group:
                # A group has no pidfd: the leader was ours an instant ago, and a new process
                # would also have to lead a group to take its number.
                os.killpg(pid, signum)
            else:
                signal.pidfd_send_signal(fd, signum)
        except ProcessLookupError:
            return False
        return True
