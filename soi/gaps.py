"""Records Faust never handed to the agent.

faust-streaming can drop records it has already fetched when a rebalance or a table recovery
interrupts a batch, and then mark the offsets it did not deliver as a "gap" and commit past them
(its issues #596 and #606; the fault drills saw 3 changes of 1,658 lost after a frozen worker).
The input topic is written by Kafka Connect without transactions and is never compacted, so its
offsets have no real gaps: a record further on than the next one expected always means records
were skipped. The worker remembers, per input partition, the next offset it expects (in a
changelog-backed table, so that survives a restart or a move to another worker), and reads the
skipped range itself, in order, before the record that revealed it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 60.0


class InputRecord(Protocol):
    """What the agent needs of a record: Faust's Message and aiokafka's ConsumerRecord both are."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class Skipped:
    """Offsets ``first`` up to (not including) ``end`` of one partition were never delivered."""

    partition: int
    first: int
    end: int

    def __len__(self) -> int:
        return self.end - self.first


def skipped_before(expected: int | None, record: InputRecord) -> Skipped | None:
    """The range skipped before ``record``, given the next offset expected in its partition
    (None before the first record: nothing to compare with). A record at or before the expected
    offset is a redelivery, which the derivation's own idempotency handles."""
    if expected is None or record.offset <= expected:
        return None
    return Skipped(record.partition, expected, record.offset)


@dataclass(frozen=True)
class GapRead:
    records: list[InputRecord]  # in offset order
    missing: list[int]  # offsets no longer in the topic (deleted by retention)


class GapReader:
    """Reads a range of one partition with a consumer of its own: no group, commits nothing."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._consumer: AIOKafkaConsumer | None = None

    async def read(self, gap: Skipped) -> GapRead:
        """The skipped records; raises TimeoutError or KafkaError when Kafka does not answer."""
        consumer = await self._started()
        tp = TopicPartition(self._topic, gap.partition)
        consumer.assign([tp])
        consumer.seek(tp, gap.first)
        found: list[InputRecord] = []
        deadline = time.monotonic() + READ_TIMEOUT_SECONDS
        while await consumer.position(tp) < gap.end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{tp.topic}[{tp.partition}] {gap} not read in time")
            batch = await consumer.getmany(tp, timeout_ms=500)
            found += [r for r in batch.get(tp, []) if gap.first <= r.offset < gap.end]
        present = {r.offset for r in found}
        return GapRead(found, [o for o in range(gap.first, gap.end) if o not in present])

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                client_id="soi-gap-reader",
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            await asyncio.wait_for(consumer.start(), READ_TIMEOUT_SECONDS)
            self._consumer = consumer
        return self._consumer

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
