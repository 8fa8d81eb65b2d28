"""Looking at Kafka from the side: a consumer group's lag, and the derived events on a topic."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from events import codec
from kernel.kafka_client import librdkafka
from kernel.wait import wait_until

TIMEOUT = 10.0


class GroupLag:
    """Records of `topic` not yet committed by consumer group `group` (the Faust worker is
    `bank-derivation`, reading `sor.bank.money`)."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.admin = AdminClient(librdkafka(bootstrap))
        self.group, self.topic = group, topic
        metadata = self.admin.list_topics(topic, timeout=TIMEOUT)
        self.partitions = sorted(metadata.topics[topic].partitions)

    def total(self) -> int:
        request = [ConsumerGroupTopicPartitions(self.group)]
        (future,) = self.admin.list_consumer_group_offsets(
            request, request_timeout=TIMEOUT
        ).values()
        committed = {
            tp.partition: tp.offset
            for tp in future.result().topic_partitions
            if tp.topic == self.topic
        }
        wanted = {TopicPartition(self.topic, p): OffsetSpec.latest() for p in self.partitions}
        ends = {
            tp.partition: f.result().offset
            for tp, f in self.admin.list_offsets(wanted, request_timeout=TIMEOUT).items()
        }
        return sum(max(0, end - max(committed.get(p, 0), 0)) for p, end in ends.items())


def _consumer(bootstrap: str) -> Consumer:
    return Consumer(
        librdkafka(
            bootstrap,
            {
                "group.id": "bench-reader",  # never committed: assign() and no auto commit
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            },
        )
    )


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = _consumer(bootstrap)
    try:
        partitions = consumer.list_topics(topic, timeout=TIMEOUT).topics[topic].partitions
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT)[1]
            for p in partitions
        }
    finally:
        consumer.close()


def wait_for_topic(bootstrap: str, topic: str, timeout: float) -> None:
    admin = AdminClient(librdkafka(bootstrap))
    wait_until(
        lambda: topic in admin.list_topics(timeout=TIMEOUT).topics,
        timeout=timeout,
        what=f"topic {topic} to appear",
        every=1,
    )


def delete_namespace(bootstrap: str, prefix: str, groups: list[str]) -> list[str]:
    """Deletes every topic whose name starts with `prefix`, and the consumer groups; returns the
    topics deleted. For the scratch workers of benchmarks and tests only."""
    admin = AdminClient(librdkafka(bootstrap))
    names = [t for t in admin.list_topics(timeout=TIMEOUT).topics if t.startswith(prefix)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.result()
    # A member that did not leave cleanly holds its group until its session times out.
    deadline = time.monotonic() + 60
    pending = list(groups)
    while pending:
        futures = admin.delete_consumer_groups(pending, request_timeout=TIMEOUT)
        pending = []
        for group, future in futures.items():
            try:
                future.result()
            except KafkaException as error:
                code = error.args[0].code()
                if code == KafkaError.NON_EMPTY_GROUP and time.monotonic() < deadline:
                    pending.append(group)
                elif code != KafkaError.GROUP_ID_NOT_FOUND:
                    raise
        if pending:
            time.sleep(2)
    return names


def read_events(
    bootstrap: str,
    topic: str,
    start: dict[int, int] | None,
    keep: Callable[[dict[str, Any]], bool],
    enough: int,
    timeout: float,
    quiet_seconds: float | None = None,
    give_up: Callable[[], bool] = lambda: False,
) -> list[dict[str, Any]]:
    """Decoded events from `start` (None: the beginning) that `keep` accepts, until `enough` are
    read, nothing new came for `quiet_seconds` after the first, `timeout` passed or `give_up`
    says so (say, the process writing them died)."""
    consumer = _consumer(bootstrap)
    events: list[dict[str, Any]] = []
    try:
        partitions = consumer.list_topics(topic, timeout=TIMEOUT).topics[topic].partitions
        consumer.assign(
            [TopicPartition(topic, p, (start or {}).get(p, OFFSET_BEGINNING)) for p in partitions]
        )
        deadline = time.monotonic() + timeout
        last_new = time.monotonic()
        while len(events) < enough and time.monotonic() < deadline and not give_up():
            quiet = time.monotonic() - last_new
            if events and quiet_seconds is not None and quiet > quiet_seconds:
                break
            message = consumer.poll(0.5)
            if message is None or message.error() or message.value() is None:
                continue
            try:
                event = codec.decode(message.value()).value
            except codec.UndecodableEvent:
                continue
            last_new = time.monotonic()
            if keep(event):
                events.append(event)
        return events
    finally:
        consumer.close()
