"""A round's time to recover: from the fault until every steady watcher saw a change booked
after it, also when the fault's strike (waiting for the struck process to be back) outlasted the
round's timeout."""

import time

import pytest

from bench.chaos.drill import _wait_recovered, seconds_to_recover
from bench.chaos.watchers import WatcherReport

pytestmark = pytest.mark.unit


def steady(name: str, first_seen: dict[int, float]) -> WatcherReport:
    report = WatcherReport(name, "steady")
    report.first_seen.update(first_seen)
    return report


class Seen:
    """The audience and the load of a round that is over: what was asked, what was seen."""

    def __init__(self, reports: list[WatcherReport], asked_after: list[int]) -> None:
        self._reports, self._asked_after = reports, asked_after

    def reports(self) -> list[WatcherReport]:
        return self._reports

    def asked_since(self, moment: float) -> list[int]:
        return self._asked_after


def test_the_last_watcher_to_see_a_change_booked_after_the_fault_sets_the_time():
    watchers = [steady("a", {1: 100.0, 7: 112.0}), steady("b", {7: 130.5, 8: 131.0})]
    # Entry 1 was asked before the fault: only 7 and 8 count.
    assert seconds_to_recover(watchers, [7, 8], struck_at=110.0) == 20.5


def test_no_time_while_a_watcher_has_seen_no_change_booked_after_the_fault():
    watchers = [steady("a", {7: 112.0}), steady("b", {1: 100.0})]
    assert seconds_to_recover(watchers, [7], struck_at=110.0) is None


def test_a_strike_that_outlasted_the_timeout_is_timed_by_when_the_change_was_seen():
    # The killed Connect worker took longer than the timeout to come back, while the task had
    # moved and changes reached every watcher 76 s after the fault.
    struck_at = time.monotonic() - 300
    seen = Seen([steady("a", {9: struck_at + 76}), steady("b", {9: struck_at + 75})], [9])
    assert _wait_recovered(seen, seen, struck_at, timeout=240) == 76.0


def test_a_change_seen_only_after_the_timeout_is_no_recovery():
    struck_at = time.monotonic() - 300
    seen = Seen([steady("a", {9: struck_at + 250})], [9])
    assert _wait_recovered(seen, seen, struck_at, timeout=240) is None


def test_no_change_seen_at_all_is_no_recovery():
    struck_at = time.monotonic() - 1
    seen = Seen([steady("a", {})], [9])
    assert _wait_recovered(seen, seen, struck_at, timeout=0.5) is None
