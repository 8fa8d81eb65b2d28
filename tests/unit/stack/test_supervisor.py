"""The supervisor with processes of the test's own (small Python programs, no services): each
crashed process waits out a backoff of its own without holding up the others' restarts, a stop
signal only sets a flag that every loop checks, and each pid is kept with its start time."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.settings import Settings, settings
from kernel.wait import wait_until
from stack import pids, processes, supervisor

pytestmark = pytest.mark.unit

SLEEPS = [sys.executable, "-c", "import time; time.sleep(600)"]
CRASHES = [sys.executable, "-c", "import time; time.sleep(0.3); raise SystemExit(3)"]


def program(name: str, command: list[str], ready=lambda: True) -> processes.Process:
    return processes.Process(
        name=name, description=name, command=command, ports={}, ready=ready, start_timeout=60
    )


class SmallStack(supervisor.Supervisor):
    """The supervisor's own code over the test's programs instead of the bank's."""

    def __init__(self, config: Settings, programs: list[processes.Process]) -> None:
        self.programs = programs
        super().__init__(config)

    def _all_processes(self) -> list[processes.Process]:
        return self.programs

    def start_all(self) -> None:
        for process in self.programs:
            self.start_process(process)


@pytest.fixture
def config(tmp_path: Path) -> Settings:
    (tmp_path / "logs").mkdir()
    return settings().changed(state_dir=tmp_path)


@pytest.fixture
def own_signal_handlers() -> Iterator[None]:
    """The supervisor installs its handlers for good; the test run gets its own back."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def test_a_crash_loop_in_its_backoff_holds_up_no_other_restart(config, monkeypatch):
    # First crash of a process: restarted at once; a second in a row: a minute's wait.
    monkeypatch.setattr(supervisor, "RESTART_BACKOFF_SECONDS", (0.2, 60))
    stack = SmallStack(config, [program("steady", SLEEPS), program("crashing", CRASHES)])
    stack.start_all()
    watching = threading.Thread(target=stack.watch)
    watching.start()
    try:
        wait_until(
            lambda: stack.status.components["crashing"].restarts >= 2,
            timeout=30,
            what="the crashing program's second crash (its backoff is a minute now)",
        )
        killed = stack.executors["steady"].process.pid
        stack.executors["steady"].kill()
        wait_until(
            lambda: stack.status.components["steady"].state == "ready"
            and stack.status.components["steady"].pid != killed,
            timeout=15,
            what="the steady program restarted while the other waits out its backoff",
        )
        assert stack.status.components["crashing"].state == "restarting"
    finally:
        stack.request_stop(signal.SIGTERM)
        watching.join(timeout=10)
        stack.stop_all()
    assert not watching.is_alive(), "the watch did not end within 10 s of the stop"


def test_a_stop_signal_only_sets_a_flag_and_the_watch_stops_everything(config, own_signal_handlers):
    stack = SmallStack(config, [program("first", SLEEPS), program("second", SLEEPS)])
    started: list[int] = []

    def signal_once_ready() -> None:
        wait_until(lambda: stack.status.phase == "ready", timeout=30, what="the stack ready")
        started.extend(e.process.pid for e in stack.executors.values())
        signal.raise_signal(signal.SIGTERM)

    threading.Thread(target=signal_once_ready, daemon=True).start()
    assert stack.run() == 0
    assert stack.stop_signal == signal.SIGTERM
    assert stack.status.phase == "stopped"
    assert [c.state for c in stack.status.components.values()] == ["stopped", "stopped"]
    assert len(started) == 2 and not any(pids.start_time(pid) for pid in started)


def test_a_stop_signal_during_start_up_ends_the_wait_for_readiness(config, own_signal_handlers):
    stack = SmallStack(config, [program("never-ready", SLEEPS, ready=lambda: False)])
    threading.Timer(1.0, signal.raise_signal, (signal.SIGINT,)).start()
    began = time.monotonic()
    assert stack.run() == 0
    assert time.monotonic() - began < 15, "it waited out the start timeout instead"
    assert stack.status.components["never-ready"].state == "stopped"


def test_every_pid_is_kept_with_its_start_time(config):
    stack = SmallStack(config, [program("sleeper", SLEEPS)])
    stack.start_all()
    try:
        component = stack.status.components["sleeper"]
        assert component.pid_started == pids.start_time(component.pid) is not None
        assert stack.status.supervisor_started == pids.start_time(stack.status.supervisor_pid)
    finally:
        stack.stop_all()


def test_past_its_start_timeout_a_process_writing_its_log_is_waited_for(
    config, tmp_path, monkeypatch
):
    # A broker restarted after kill -9 recovers its partitions for minutes, logging each one:
    # killed at the start timeout, it would begin its recovery again, for ever.
    monkeypatch.setattr(supervisor, "START_SILENCE_SECONDS", 1)
    done = tmp_path / "recovered"
    recovering = [
        sys.executable,
        "-c",
        "import pathlib, sys, time\n"
        "for n in range(15):\n"
        "    print('recovering partition', n, flush=True); time.sleep(0.2)\n"
        f"pathlib.Path({str(done)!r}).touch(); time.sleep(600)",
    ]
    busy = processes.Process(
        name="busy",
        description="busy",
        command=recovering,
        ports={},
        ready=done.exists,
        start_timeout=1,
    )
    stack = SmallStack(config, [busy])
    try:
        stack.start_process(busy)
        assert stack.status.components["busy"].state == "ready"
    finally:
        stack.stop_all()


def test_past_its_start_timeout_a_silent_process_is_stopped(config, monkeypatch):
    monkeypatch.setattr(supervisor, "START_SILENCE_SECONDS", 1)
    silent = processes.Process(
        name="silent",
        description="silent",
        command=SLEEPS,
        ports={},
        ready=lambda: False,
        start_timeout=1,
    )
    stack = SmallStack(config, [silent])
    with pytest.raises(supervisor.StartFailed, match="silent for 1s"):
        stack.start_process(silent)
    assert stack.status.components["silent"].state == "failed"
