"""Which Kafka reads gather their writes, one per client (soe/feed.py, soe/write_batch.py)."""

from __future__ import annotations

import pytest
from aiokafka import TopicPartition

from soe.feed import worth_gathering

pytestmark = pytest.mark.unit
CHANGES, BALANCES, ALERTS = "bank.balance-changed", "bank.balances", "bank.alerts"


def read(**records: int) -> dict[TopicPartition, list[object]]:
    topics = {"changes": CHANGES, "balances": BALANCES, "alerts": ALERTS}
    return {TopicPartition(topics[name], 0): [object()] * n for name, n in records.items()}


def test_a_lone_change_goes_straight_out_even_with_its_balance_record():
    assert not worth_gathering(read(changes=1, balances=1), BALANCES)
    assert not worth_gathering(read(balances=40), BALANCES)


def test_a_read_that_may_send_a_client_several_frames_is_gathered():
    assert worth_gathering(read(changes=2), BALANCES)
    assert worth_gathering(read(changes=1, alerts=1), BALANCES)
