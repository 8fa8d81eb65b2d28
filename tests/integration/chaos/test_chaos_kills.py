"""kill -9 of each component while clerks book and customers watch: once the supervisor has
restarted it, every booked change is in bank.balance-changed exactly once, no account's
sequence has a gap, bank.balances agrees with the database, and every watcher shows the truth."""

from __future__ import annotations

import pytest

from bench.chaos.faults import COMPONENTS, Fault
from bench.chaos.report import summary

pytestmark = pytest.mark.integration


# Known defect, recorded rather than hidden: after kill -9 of the broker nothing is lost, but the
# gateway's Kafka feed never comes back (until the gateway restarts): aiokafka's consumer.stop()
# re-raises the CancelledError of a fetch its fetcher cancelled itself, which neither
# contextlib.suppress(Exception) nor wait_for stops, so it ends soe.feed.Feed.run for good while
# /ready stays 200. strict: the day it recovers, this test fails and the mark must go.
KAFKA_RECOVERS_TOO_SLOWLY = pytest.mark.xfail(
    reason="the gateway's Kafka feed dies when the broker is killed (CancelledError from "
    "aiokafka's consumer.stop() ends Feed.run)",
    strict=True,
)


@pytest.mark.parametrize(
    "component",
    [pytest.param(c, marks=KAFKA_RECOVERS_TOO_SLOWLY) if c == "kafka" else c for c in COMPONENTS],
)
def test_a_component_killed_under_load_loses_duplicates_and_misshows_nothing(drill, component):
    result = drill(Fault("kill", component))
    assert result.ok, summary(result)
