"""A pid from the status file is signalled only while it is still the process that started at
the time kept with it: never a process the kernel gave that pid to since."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator

import pytest

from kernel.wait import wait_until
from stack import cli, pids

pytestmark = pytest.mark.unit


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def test_a_process_with_another_start_time_is_not_signalled(sleeper):
    started = pids.start_time(sleeper.pid)
    assert started is not None
    assert not pids.send(sleeper.pid, started + 1, signal.SIGTERM)
    assert not pids.send(sleeper.pid, None, signal.SIGTERM)
    assert sleeper.poll() is None, "a process of another start time got the signal"
    assert pids.send(sleeper.pid, started, signal.SIGTERM)
    assert sleeper.wait(10) == -signal.SIGTERM


def test_a_pid_that_has_ended_is_not_signalled(sleeper):
    started = pids.start_time(sleeper.pid)
    sleeper.kill()
    sleeper.wait()
    assert pids.start_time(sleeper.pid) is None
    assert not pids.send(sleeper.pid, started, signal.SIGTERM)


def test_a_killed_process_not_yet_reaped_has_ended(sleeper):
    started = pids.start_time(sleeper.pid)
    sleeper.kill()  # and not reaped: a zombie, whose pid still names it
    wait_until(lambda: not pids.running(sleeper.pid, started), timeout=10, what="the kill to land")
    assert pids.is_same(sleeper.pid, started)


def test_make_down_leaves_a_process_alone_that_now_holds_an_orphan_s_pid(sleeper):
    started = pids.start_time(sleeper.pid)
    stale = {"components": {"soe": {"name": "soe", "pid": sleeper.pid, "pid_started": started - 1}}}
    cli._kill_orphans(stale)
    assert sleeper.poll() is None
    ours = {"components": {"soe": {"name": "soe", "pid": sleeper.pid, "pid_started": started}}}
    cli._kill_orphans(ours)
    assert sleeper.wait(10) == -signal.SIGTERM
