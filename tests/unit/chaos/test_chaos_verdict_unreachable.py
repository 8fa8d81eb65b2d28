"""Kafka still not answering when a round's verdict is taken fails that round with the reason;
the drill goes on to its other rounds and reports them all (it used to end on a traceback)."""

from __future__ import annotations

import pytest

from bench.chaos import verdict
from bench.chaos.drill import Plan, judge_round
from bench.children import free_port
from bench.teller import Booking
from kernel.settings import settings
from ops.errors import Unreachable

pytestmark = pytest.mark.unit

IBAN = "NL53LIVE1476781926"


@pytest.fixture
def nobody_answers():
    """Settings whose Kafka is a port nothing listens on: a broker that is down."""
    return settings().changed(kafka_bootstrap=f"127.0.0.1:{free_port()}")


def test_reading_the_derived_events_waits_for_kafka_then_says_it_did_not_answer(nobody_answers):
    with pytest.raises(Unreachable, match="Kafka is not reachable"):
        verdict.derived_events(nobody_answers, {}, [Booking(IBAN, 1, 100, 1100)], timeout=1)


def test_a_round_judged_while_kafka_is_down_fails_with_the_reason(nobody_answers):
    booked = [Booking(IBAN, 1, 100, 1100), Booking(IBAN, 2, 50, 1150)]
    plan = Plan(settle_timeout=1)
    outcome, balances = judge_round(nobody_answers, plan, booked, {}, {}, [IBAN], {})
    assert outcome.booked == 2
    assert [p.split(":")[0] for p in outcome.problems] == ["no verdict"]
    assert "Kafka is not reachable" in outcome.problems[0]
    assert nobody_answers.kafka_bootstrap in outcome.problems[0]
    # Nothing to hold the watchers to: what they show cannot be checked against a derivation.
    assert balances == {}
