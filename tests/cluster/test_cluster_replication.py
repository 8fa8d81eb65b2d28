"""Every topic of a cluster stack, ours and Kafka's, Connect's and the registry's, has three
copies on three brokers, all in sync, and refuses a write that fewer than two have."""

from __future__ import annotations

import pytest

from bench.chaos import cluster
from events import topics
from soi.config import STATE_TOPIC, TOPICS
from stack.processes import REGISTRY_JOURNAL_TOPIC

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

# Those whose loss would lose money or a customer's view; each must exist and be replicated.
EXPECTED = {
    topics.CDC_MONEY,
    topics.CDC_CUSTOMERS,
    *TOPICS.names(),
    TOPICS.dead_letters,
    STATE_TOPIC,
    "sor.schema-history",
    "bank-connect-configs",
    "bank-connect-offsets",
    "bank-connect-status",
    REGISTRY_JOURNAL_TOPIC,
    "__consumer_offsets",
    "__transaction_state",
}


def test_every_topic_has_three_copies_in_sync_and_needs_two_for_a_write(cluster_stack):
    partitions = cluster.partitions(cluster_stack)
    by_topic: dict[str, list[cluster.PartitionCopies]] = {}
    for p in partitions:
        by_topic.setdefault(p.topic, []).append(p)
    assert set(by_topic) >= EXPECTED, f"missing: {EXPECTED - set(by_topic)}"
    wrong = [
        f"{p.topic}[{p.partition}] replicas {list(p.replicas)}"
        for p in partitions
        if len(set(p.replicas)) != 3
    ]
    assert not wrong, wrong
    cluster.wait_in_sync(cluster_stack, timeout=60)
    min_insync = cluster.min_insync_by_topic(cluster_stack, sorted(by_topic))
    assert {name: n for name, n in min_insync.items() if n != 2} == {}


def test_every_partition_has_a_leader_among_its_copies_and_every_broker_holds_copies(
    cluster_stack,
):
    partitions = cluster.partitions(cluster_stack)
    assert all(p.leader in p.replicas for p in partitions), [
        f"{p.topic}[{p.partition}]" for p in partitions if p.leader not in p.replicas
    ]
    assert {broker for p in partitions for broker in p.replicas} == {1, 2, 3}
