"""kill -9 of each component while clerks book and customers watch: once the supervisor has
restarted it, every booked change is in bank.balance-changed exactly once, no account's
sequence has a gap, bank.balances agrees with the database, and every watcher shows the truth."""

from __future__ import annotations

import pytest

from bench.chaos.faults import COMPONENTS, Fault
from bench.chaos.report import summary

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_component_killed_under_load_loses_duplicates_and_misshows_nothing(drill, component):
    result = drill(Fault("kill", component))
    assert result.ok, summary(result)
