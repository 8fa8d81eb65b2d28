"""Reading a topic from the side, for the benchmarks, the fault drills and the tests: its end
offsets now, and its decoded records from remembered offsets until a condition holds. The
consumer is bankctl's (ops/kafka.py): assigned partitions, no group, no commits, committed
transactions only."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from events import codec
from ops.kafka import Kafka

TIMEOUT = 10.0


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: dict[str, Any] | None  # None for a tombstone


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Each partition's end offset as of now: where records written from now on will start."""
    kafka = Kafka(bootstrap, TIMEOUT)
    marks = kafka.watermarks(kafka.positions(topic))
    return {partition: end for (_topic, partition), (_start, end) in marks.items()}


def read(
    bootstrap: str,
    topic: str,
    start: dict[int, int] | None = None,
    until: Callable[[list[Record]], bool] | None = None,
    timeout: float = 60.0,
    *,
    quiet_seconds: float | None = None,
    give_up: Callable[[], bool] | None = None,
    must_hold: bool = True,
) -> list[Record]:
    """Records from `start` (default: the beginning), values decoded with the repo's schemas
    (undecodable ones are passed over), until

    - `until(records)` holds (it is asked after each record, the newest last), or, without it,
      every partition's current end is reached;
    - nothing new came for `quiet_seconds` after the first record (when given);
    - `give_up()` says so (say, the process writing them died);
    - `timeout` passes: a TimeoutError when `until` was given and `must_hold`, else what was read.
    """
    kafka = Kafka(bootstrap, TIMEOUT)
    partitions = [partition for _topic, partition in kafka.positions(topic)]
    consumer = kafka.consumer()
    records: list[Record] = []
    try:
        consumer.assign(
            [TopicPartition(topic, p, (start or {}).get(p, OFFSET_BEGINNING)) for p in partitions]
        )
        at_end: set[int] = set()
        deadline = time.monotonic() + timeout
        last_new = time.monotonic()
        while time.monotonic() < deadline and not (give_up and give_up()):
            if (
                records
                and quiet_seconds is not None
                and time.monotonic() - last_new > quiet_seconds
            ):
                return records
            message = consumer.poll(0.5)
            if message is None or message.error():
                if message is not None:
                    at_end.add(message.partition())
                if until is None and len(at_end) == len(partitions):
                    return records
                continue
            at_end.discard(message.partition())
            try:
                value = None if message.value() is None else codec.decode(message.value()).value
            except codec.UndecodableEvent:
                continue  # the dead-letter and protocol tests plant such records on purpose
            last_new = time.monotonic()
            records.append(Record(message.partition(), message.offset(), message.key(), value))
            if until is not None and until(records):
                return records
        if until is not None and must_hold and not (give_up and give_up()):
            raise TimeoutError(
                f"{topic}: condition not met after {timeout:.0f}s ({len(records)} records read)"
            )
        return records
    finally:
        consumer.close()


def latest_by_key(records: list[Record]) -> dict[bytes, dict[str, Any] | None]:
    """The last value of each key: what a compacted topic keeps."""
    latest: dict[bytes, dict[str, Any] | None] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        latest[record.key] = record.value
    return latest


def read_events(
    bootstrap: str,
    topic: str,
    start: dict[int, int] | None,
    keep: Callable[[dict[str, Any]], bool],
    enough: int,
    timeout: float,
    quiet_seconds: float | None = None,
    give_up: Callable[[], bool] | None = None,
) -> list[dict[str, Any]]:
    """The decoded values `keep` accepts, from `start`, until `enough` are read, nothing new
    came for `quiet_seconds`, `timeout` passed or `give_up` says so: what was read by then."""
    kept: list[dict[str, Any]] = []

    def enough_kept(records: list[Record]) -> bool:
        value = records[-1].value
        if value is not None and keep(value):
            kept.append(value)
        return len(kept) >= enough

    if enough > 0:
        read(
            bootstrap,
            topic,
            start,
            enough_kept,
            timeout,
            quiet_seconds=quiet_seconds,
            give_up=give_up,
            must_hold=False,
        )
    return kept
