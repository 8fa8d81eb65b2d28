"""A transaction call that does not keep its own timeout stops the worker instead of holding its
partitions in silence: librdkafka's offsets call waited for ever for a group coordinator whose
broker had been shut down in the rolling restart of the brokers (soi/watchdog.py)."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from kernel.settings import REPO_ROOT
from soi import pipeline
from soi.app import EXIT_ON_BUG
from soi.watchdog import Watchdog

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_call_within_its_limit_is_left_alone_and_one_past_it_is_reported_once():
    clock, stuck = Clock(), []
    watchdog = Watchdog(lambda what, took: stuck.append((what, took)), clock)
    assert not watchdog.check()  # nothing in progress
    with watchdog.watching("committing the batch", limit=30):
        clock.now += 30
        assert not watchdog.check()
        clock.now += 1
        assert watchdog.check()
        clock.now += 5
        assert not watchdog.check()
    assert stuck == [("committing the batch", 31)]


def test_a_call_that_returned_is_no_longer_watched():
    clock, stuck = Clock(), []
    watchdog = Watchdog(lambda what, took: stuck.append(what), clock)
    with watchdog.watching("aborting the batch", limit=30):
        clock.now += 1
    clock.now += 60
    assert not watchdog.check()
    assert stuck == []


def test_an_offsets_call_that_ignores_its_timeout_is_found_stuck(monkeypatch):
    # As librdkafka's send_offsets_to_transaction did: asked to give up after 10 s, it waited
    # until a broker changed state, minutes later. Here it waits until the watchdog speaks.
    monkeypatch.setattr(pipeline, "TRANSACTION_CALL_SECONDS", 0.05)
    monkeypatch.setattr(pipeline, "TRANSACTION_STUCK_AFTER_SECONDS", 0.1)
    found = threading.Event()
    stuck: list[tuple[str, float]] = []

    def on_stuck(what: str, took: float) -> None:
        stuck.append((what, took))
        found.set()

    def send_offsets(timeout: float) -> None:
        found.wait(timeout=10)  # far past `timeout`, unless the watchdog finds it

    watchdog = Watchdog(on_stuck)
    watchdog.start(every=0.02)
    try:
        pipeline.retrying("committing the batch's offsets", send_offsets, watchdog)
    finally:
        watchdog.stop()
    assert [what for what, _ in stuck] == ["committing the batch's offsets"]
    assert 0.15 <= stuck[0][1] < 5


def test_the_worker_exits_for_the_supervisor_to_start_it_again():
    # Logging as the Faust worker sets it up (to stderr).
    stop = (
        "import logging; logging.basicConfig(); from soi.app import stop_stuck_worker; "
        "stop_stuck_worker('committing the batch', 31)"
    )
    done = subprocess.run(
        [sys.executable, "-c", stop], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == EXIT_ON_BUG
    assert "committing the batch: no answer after 31 s" in done.stderr


def test_a_call_back_late_but_short_of_the_watchdog_is_said(monkeypatch, caplog):
    clock = Clock()
    monkeypatch.setattr(pipeline.time, "monotonic", clock)

    def commit(timeout: float) -> None:
        clock.now += timeout + 2.5  # came back 2.5 s after its timeout

    with caplog.at_level("WARNING", logger="soi.pipeline"):
        pipeline.retrying("committing the batch", commit)
    assert [r.getMessage() for r in caplog.records] == [
        "committing the batch took 12.5 s, past its 10 s timeout"
    ]
