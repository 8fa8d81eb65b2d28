"""Reading the derived topics in tests: from remembered offsets up to what has arrived."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from events import codec
from kernel.kafka_client import librdkafka


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: dict[str, Any] | None  # None for a tombstone


def _consumer(bootstrap: str) -> Consumer:
    return Consumer(
        librdkafka(
            bootstrap,
            {
                "group.id": "tests-reader",  # never committed: assign() and no auto commit
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            },
        )
    )


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = _consumer(bootstrap)
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
    finally:
        consumer.close()


def read(
    bootstrap: str,
    topic: str,
    start: dict[int, int] | None = None,
    until: Callable[[list[Record]], bool] | None = None,
    timeout: float = 60.0,
) -> list[Record]:
    """Records from `start` (default: the beginning) until `until` holds or, without it, until
    every partition's current end is reached. Values are decoded with the repo's schemas."""
    consumer = _consumer(bootstrap)
    records: list[Record] = []
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        offsets = start or {p: OFFSET_BEGINNING for p in partitions}
        consumer.assign(
            [TopicPartition(topic, p, offsets.get(p, OFFSET_BEGINNING)) for p in partitions]
        )
        at_end: set[int] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                if until is None and len(at_end) == len(partitions):
                    return records
                continue
            if message.error():
                at_end.add(message.partition())
                if until is None and len(at_end) == len(partitions):
                    return records
                continue
            at_end.discard(message.partition())
            try:
                value = None if message.value() is None else codec.decode(message.value()).value
            except codec.UndecodableEvent:
                continue  # the dead-letter and protocol tests plant such records on purpose
            records.append(Record(message.partition(), message.offset(), message.key(), value))
            if until is not None and until(records):
                return records
        if until is not None:
            raise TimeoutError(
                f"{topic}: condition not met after {timeout:.0f}s ({len(records)} records read)"
            )
        return records
    finally:
        consumer.close()


def latest_by_key(records: list[Record]) -> dict[bytes, dict[str, Any] | None]:
    latest: dict[bytes, dict[str, Any] | None] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        latest[record.key] = record.value
    return latest
