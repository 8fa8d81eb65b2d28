"""The one wait helper: returns as soon as the condition holds, names what it waited for."""

import itertools

import pytest

from kernel.wait import poll, wait_until

pytestmark = pytest.mark.unit


def test_it_returns_what_the_condition_gave_as_soon_as_it_holds():
    answers = iter([None, None, "ready"])
    assert wait_until(lambda: next(answers), timeout=5, what="x", every=0.01) == "ready"


def test_a_condition_that_never_holds_fails_naming_what_was_awaited():
    with pytest.raises(TimeoutError, match=r"waited 0\.05 s for the connector"):
        wait_until(lambda: False, timeout=0.05, what="the connector", every=0.01)


def test_poll_gives_the_last_answer_when_time_runs_out():
    counter = itertools.count()
    last = poll(lambda: next(counter), until=lambda n: n < 0, timeout=0.05, every=0.01)
    assert last >= 1


def test_an_error_of_the_probe_ends_the_wait():
    def broken() -> bool:
        raise ConnectionError("no answer")

    with pytest.raises(ConnectionError):
        wait_until(broken, timeout=5, what="x")
