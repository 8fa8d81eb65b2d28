"""kill -9 of each component while clerks book and customers watch: once the supervisor has
restarted it, every booked change is in bank.balance-changed exactly once, no account's
sequence has a gap, bank.balances agrees with the database, and every watcher shows the truth."""

from __future__ import annotations

import pytest

from bench.chaos.faults import COMPONENTS, Fault
from bench.chaos.report import summary

pytestmark = pytest.mark.integration


# Known defect, recorded rather than hidden: after kill -9 of the broker nothing is lost, but the
# stack takes longer than the drill's 120 s to be healthy again (the gateway's feed reconnects
# late). strict: the day it recovers in time, this test fails and the mark must go.
KAFKA_RECOVERS_TOO_SLOWLY = pytest.mark.xfail(
    reason="the stack is not healthy within 120 s after the broker is killed", strict=True
)


@pytest.mark.parametrize(
    "component",
    [pytest.param(c, marks=KAFKA_RECOVERS_TOO_SLOWLY) if c == "kafka" else c for c in COMPONENTS],
)
def test_a_component_killed_under_load_loses_duplicates_and_misshows_nothing(drill, component):
    result = drill(Fault("kill", component))
    assert result.ok, summary(result)
