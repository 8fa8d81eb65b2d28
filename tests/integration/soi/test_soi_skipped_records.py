"""Records the worker's consumer group committed past without deriving them are still derived.

faust-streaming can do exactly that around a rebalance (see soi.gaps). The test makes it happen
on purpose: while the worker is frozen out of its group, the group's committed offsets are moved
past new changes, as Faust would have committed them. Once the worker is back (restarted), the
next change in each partition reveals the gap and the worker reads the skipped records itself."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import ConsumerGroupState, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from events import topics
from ops.kafka import Kafka
from ops.lag import consumer_groups
from soi.config import APP_ID
from tests.integration.soi.test_soi_exactly_once import (
    assert_exactly_once_and_reconciled,
    derived_events,
)
from tests.support import bank_db
from tests.support.stack_control import freeze, kill_hard, wait_healthy, wait_restarted
from tests.support.teller import Teller
from tests.support.topics import end_offsets

pytestmark = pytest.mark.integration

ACCOUNTS = 12  # over the input topic's 6 partitions


def wait_until_group_is_empty(admin: AdminClient, group: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [described] = admin.describe_consumer_groups([group]).values()
        if described.result().state == ConsumerGroupState.EMPTY:
            return
        time.sleep(1)
    raise TimeoutError(f"consumer group {group} still has members after {timeout:.0f}s")


def wait_for_cdc_records(bootstrap: str, start: dict[int, int], count: int) -> dict[int, int]:
    """The money topic's end offsets once at least `count` records arrived after `start`."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ends = end_offsets(bootstrap, topics.CDC_MONEY)
        if sum(ends.values()) - sum(start.values()) >= count:
            return ends
        time.sleep(0.5)
    raise TimeoutError(f"fewer than {count} new CDC records in {topics.CDC_MONEY} after 60s")


def test_changes_the_consumer_group_committed_past_are_derived_once_the_next_change_comes(
    running_stack,
):
    config = running_stack
    worker_log = config.path("logs", "soi.log")
    log_start = worker_log.stat().st_size
    admin = AdminClient({"bootstrap.servers": config.kafka_bootstrap})
    teller = Teller(config)
    accounts = bank_db.open_accounts(config, ACCOUNTS)
    # One change per account first, derived as usual: the worker has seen each of their
    # partitions, so it knows which offset comes next there.
    events_start = end_offsets(config.kafka_bootstrap, topics.BALANCE_CHANGED)
    seen = [teller.deposit(a.iban, 100, "before the worker went away") for a in accounts]
    derived_events(config, seen, events_start)
    cdc_start = end_offsets(config.kafka_bootstrap, topics.CDC_MONEY)

    freeze(config, "soi")
    try:
        wait_until_group_is_empty(admin, APP_ID)
        skipped = [teller.deposit(a.iban, 250, "booked while away") for a in accounts]
        # Each deposit is two CDC records: the ledger entry and the account's new balance.
        ends = wait_for_cdc_records(config.kafka_bootstrap, cdc_start, 2 * len(skipped))
        past_them = [TopicPartition(topics.CDC_MONEY, p, o) for p, o in ends.items()]
        moved = ConsumerGroupTopicPartitions(APP_ID, past_them)
        for future in admin.alter_consumer_group_offsets([moved]).values():
            future.result()
    finally:
        # Killed, not thawed: a thawed worker may commit its old offsets over the moved ones
        # before it notices it left the group. A killed one commits nothing.
        restarts = kill_hard(config, "soi")
    wait_restarted(config, "soi", restarts)
    wait_healthy(config)
    later = [teller.deposit(a.iban, 1, "booked after the worker came back") for a in accounts]
    bookings = seen + skipped + later
    events = derived_events(config, bookings, events_start)
    assert_exactly_once_and_reconciled(config, bookings, events)
    with worker_log.open("rb") as log:
        log.seek(log_start)
        assert b"reading them directly" in log.read(), "the gap was not what derived them"
    # And the group's commits go on past them: no lag left behind, no replay at the next start.
    wait_until_committed_to_the_end(config.kafka_bootstrap)


def wait_until_committed_to_the_end(bootstrap: str, timeout: float = 60) -> None:
    """What `bankctl lag` shows for the worker's group: nothing left behind on the input."""
    kafka = Kafka(bootstrap)
    deadline = time.monotonic() + timeout
    while True:
        [worker] = [g for g in consumer_groups(kafka) if g.group == APP_ID]
        behind = {
            p.partition: p.lag for p in worker.partitions if p.topic == topics.CDC_MONEY and p.lag
        }
        if not behind:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the worker's commits stay behind the input: {behind}")
        time.sleep(1)
