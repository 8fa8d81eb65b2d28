"""Ctrl-C while following: the first asks the loop to stop, a second stops at once."""

from __future__ import annotations

import os
import signal

import pytest

from ops.interrupt import stop_requested

pytestmark = pytest.mark.unit


def test_the_first_ctrl_c_sets_the_event_instead_of_raising():
    with stop_requested() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.is_set()


def test_a_second_ctrl_c_interrupts_at_once():
    with pytest.raises(KeyboardInterrupt), stop_requested():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)


def test_sigterm_asks_to_stop_too():
    with stop_requested() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.is_set()


def test_the_previous_handlers_are_back_afterwards():
    before = signal.getsignal(signal.SIGINT)
    with stop_requested():
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before
