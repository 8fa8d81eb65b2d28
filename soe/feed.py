"""The gateway's one Kafka consumer: rebuilds the accounts at start, then follows every change.

No consumer group: the consumer is assigned every partition of the topics it reads, because the
gateway must see every event, and its position lives only in memory (a restarted gateway rebuilds
from the compacted ``<namespace>.balances`` and the tail of ``<namespace>.balance-changed``; the
namespace is ``bank`` unless BANK_TOPIC_NAMESPACE says otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from events import codec
from events.topics import DerivedTopics
from soe import metrics
from soe.accounts import AccountBook
from soe.config import GatewayConfig
from soe.connections import Hub

log = logging.getLogger(__name__)

METADATA_REFRESH_SECONDS = 10.0
# Any single call to Kafka that takes longer means the connection is wedged: start afresh.
KAFKA_CALL_TIMEOUT_SECONDS = 15.0
LAG_REFRESH_SECONDS = 2.0
YIELD_EVERY = 32


def expected_types(topics: DerivedTopics) -> dict[str, str]:
    """The one event type each topic the gateway reads may carry."""
    return {
        topics.balances: "account_balance",
        topics.balance_changed: "balance_changed",
        topics.alerts: "alert",
    }


def worth_gathering(batch: dict[TopicPartition, list[ConsumerRecord]], balances: str) -> bool:
    """Whether a read may send some client several frames: only then are its writes gathered
    into one per client. A lone change's frames go straight out; gathering them would cost each
    client a list for nothing (the balances record read with almost every change rarely sends
    anything, and what it sends may go straight out too)."""
    return sum(len(records) for tp, records in batch.items() if tp.topic != balances) > 1


@dataclass
class CatchUp:
    """End offsets captured when the topics were first assigned; ready once all are reached."""

    targets: dict[TopicPartition, int] = field(default_factory=dict)
    done: bool = False

    def behind(self, positions: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        return {
            tp: end - positions.get(tp, 0)
            for tp, end in self.targets.items()
            if positions.get(tp, 0) < end
        }


class Feed:
    def __init__(self, config: GatewayConfig, book: AccountBook, hub: Hub) -> None:
        self._config = config
        self._book = book
        self._hub = hub
        self._topics = config.topics
        self._expected_type = expected_types(config.topics)
        # Readiness waits for these; alerts are only ever read from their end.
        self._required = (config.topics.balances, config.topics.balance_changed)
        # Next offset to read per partition; survives a reconnect, so nothing is read twice.
        self._positions: dict[TopicPartition, int] = {}
        self._catch_up = CatchUp()
        self._state = "starting"
        self._ended = False

    @property
    def ready(self) -> bool:
        return self._catch_up.done and not self._ended

    @property
    def alive(self) -> bool:
        """False once ``run`` has ended: the gateway then shows nothing new to anyone."""
        return not self._ended

    def status(self) -> dict[str, object]:
        behind = self._catch_up.behind(self._positions)
        return {
            "ready": self.ready,
            "state": self._state,
            "accounts": len(self._book),
            "connections": len(self._hub),
            "behind": {f"{tp.topic}[{tp.partition}]": n for tp, n in sorted(behind.items())},
        }

    async def run(self) -> None:
        """Consume until cancelled; any Kafka failure is logged and retried, never fatal."""
        try:
            await self._follow()
        finally:
            self._ended = True
            self._state = "stopped"
            metrics.READY.set(0)

    async def _follow(self) -> None:
        while True:
            consumer = AIOKafkaConsumer(
                **self._config.kafka.aiokafka(),
                client_id="soe-gateway",
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                # The worker writes in transactions: customers never see an aborted record.
                isolation_level="read_committed",
            )
            try:
                # Bounded: with the broker down or half up, aiokafka's start can hang for minutes.
                await asyncio.wait_for(consumer.start(), KAFKA_CALL_TIMEOUT_SECONDS)
                metrics.KAFKA_CONSUMERS.set(1)
                await self._consume(consumer)
            except (KafkaError, TimeoutError) as error:
                self._state = f"Kafka unavailable: {error or 'no answer in time'}"
                log.warning(
                    "Kafka at %s (BANK_KAFKA_BOOTSTRAP): %s; retrying in %s s",
                    self._config.kafka.bootstrap,
                    error,
                    self._config.retry_seconds,
                )
            except asyncio.CancelledError:
                if _feed_cancelled():
                    raise
                self._state = "feed failed; restarting"
                log.warning("the Kafka client cancelled one of its own calls; restarting the feed")
            except Exception:
                self._state = "feed failed; restarting"
                log.exception("the Kafka feed failed; restarting it")
            finally:
                await _stop(consumer)
            await asyncio.sleep(self._config.retry_seconds)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        assigned = await self._wait_for_topics(consumer)
        await self._assign(consumer, assigned)
        next_metadata = time.monotonic() + METADATA_REFRESH_SECONDS
        next_lag = 0.0
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            # Every change of the batch is written to a client in one write (soe/write_batch.py),
            # and the writes go out before the event loop runs anything else.
            writes = self._hub.writes
            if worth_gathering(batch, self._topics.balances):
                writes.begin()
            try:
                for tp, records in batch.items():
                    for index, record in enumerate(records, 1):
                        self._handle(tp.topic, record)
                        if index % YIELD_EVERY == 0:
                            # Let the writers drain, so a burst never fills a reading client's
                            # queue.
                            writes.flush()
                            await asyncio.sleep(0)
                            writes.begin()
                    if records:
                        self._positions[tp] = records[-1].offset + 1
            finally:
                writes.flush()
            if not self._catch_up.done:
                await self._check_caught_up(consumer, assigned)
            now = time.monotonic()
            if now >= next_lag:
                self._report_lag(consumer, assigned)
                next_lag = now + LAG_REFRESH_SECONDS
            if now >= next_metadata:
                current = await self._partitions(consumer)
                if current != assigned:
                    log.info("partitions changed: now reading %s", _describe(current))
                    assigned = current
                    await self._assign(consumer, assigned)
                next_metadata = now + METADATA_REFRESH_SECONDS

    async def _wait_for_topics(self, consumer: AIOKafkaConsumer) -> set[TopicPartition]:
        while True:
            assigned = await self._partitions(consumer)
            missing = [t for t in self._required if not any(tp.topic == t for tp in assigned)]
            if not missing:
                return assigned
            self._state = f"waiting for topics {', '.join(missing)}"
            log.warning(
                "topics %s do not exist yet (the Faust worker creates them; is "
                "BANK_TOPIC_NAMESPACE the same for both?); not ready, checking again in %s s",
                ", ".join(missing),
                self._config.retry_seconds,
            )
            await asyncio.sleep(self._config.retry_seconds)

    async def _partitions(self, consumer: AIOKafkaConsumer) -> set[TopicPartition]:
        # The consumer's own metadata request: no second client, and no topic is auto-created.
        cluster = await asyncio.wait_for(
            consumer._client.fetch_all_metadata(), KAFKA_CALL_TIMEOUT_SECONDS
        )
        return {
            TopicPartition(topic, partition)
            for topic in self._expected_type
            for partition in cluster.partitions_for_topic(topic) or ()
        }

    async def _assign(self, consumer: AIOKafkaConsumer, assigned: set[TopicPartition]) -> None:
        consumer.assign(sorted(assigned))
        new = [tp for tp in assigned if tp not in self._positions]
        beginning = await consumer.beginning_offsets(new) if new else {}
        end = await consumer.end_offsets(new) if new else {}
        first_assignment = not self._catch_up.targets
        for tp in new:
            self._positions[tp] = self._start_offset(tp, beginning[tp], end[tp], first_assignment)
            if tp.topic in self._required and first_assignment:
                self._catch_up.targets[tp] = end[tp]
        for tp in assigned:
            consumer.seek(tp, self._positions[tp])
        self._state = "catching up" if not self._catch_up.done else "following"
        log.info("reading %s", _describe(assigned))

    def _start_offset(self, tp: TopicPartition, first: int, end: int, at_start: bool) -> int:
        if tp.topic == self._topics.balance_changed and at_start:
            return max(first, end - self._config.history_load_per_partition)
        if tp.topic == self._topics.alerts and at_start:
            return end  # alerts are notifications of now, not history
        return first  # the balances always, and partitions that appeared after start in full

    async def _check_caught_up(
        self, consumer: AIOKafkaConsumer, assigned: set[TopicPartition]
    ) -> None:
        for tp in self._catch_up.targets:
            if tp in assigned:
                self._positions[tp] = max(self._positions[tp], await consumer.position(tp))
        if not self._catch_up.behind(self._positions):
            self._catch_up.done = True
            self._state = "following"
            metrics.READY.set(1)
            log.info("caught up: %d accounts in memory; the gateway is ready", len(self._book))

    def _report_lag(self, consumer: AIOKafkaConsumer, assigned: set[TopicPartition]) -> None:
        lag: dict[str, int] = dict.fromkeys(self._expected_type, 0)
        for tp in assigned:
            highwater = consumer.highwater(tp)
            if highwater is not None:
                lag[tp.topic] += max(0, highwater - self._positions.get(tp, 0))
        for topic, value in lag.items():
            metrics.CONSUMER_LAG.labels(topic).set(value)
        metrics.ACCOUNTS.set(len(self._book))

    def _handle(self, topic: str, record: ConsumerRecord) -> None:
        metrics.EVENTS_IN.labels(topic).inc()
        if topic == self._topics.balances and record.value is None:
            account = self._book.remove(record.key.decode()) if record.key else None
            if account is not None:
                self._hub.publish_removed(account)
            return
        try:
            decoded = codec.decode(record.value)
            if decoded.type != self._expected_type[topic]:
                raise codec.UndecodableEvent(f"a {decoded.type} event does not belong here")
            self._apply(topic, decoded.value)
        except Exception as error:  # one bad record must never stop the feed
            metrics.UNDECODABLE.labels(topic).inc()
            log.warning(
                "skipped record %s[%d]@%d: %s", topic, record.partition, record.offset, error
            )

    def _apply(self, topic: str, value: dict) -> None:
        if topic == self._topics.balances:
            self._hub.publish_state(self._book.apply_balance(value))
        elif topic == self._topics.balance_changed:
            if self._book.apply_change(value):
                self._hub.publish_change(value, at_start=not self.ready)
            else:
                metrics.DUPLICATES.inc()
        else:
            self._hub.publish_alert(value)


def _feed_cancelled() -> bool:
    """Whether the feed's own task is being cancelled: only that may end it. aiokafka's fetcher
    cancels its own fetches when the broker dies, and ``stop()`` or ``getmany()`` then re-raise
    that ``CancelledError``: a dead connection, not a request to stop."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0


async def _stop(consumer: AIOKafkaConsumer) -> None:
    """Stops a consumer that is being replaced. One whose broker died can hang in ``stop()`` or
    raise from it; the fresh consumer replaces it either way."""
    try:
        await asyncio.wait_for(consumer.stop(), KAFKA_CALL_TIMEOUT_SECONDS)
    except asyncio.CancelledError:
        if _feed_cancelled():
            raise
        log.info("stopping the old Kafka consumer was cancelled by the client itself; ignored")
    except Exception as error:
        log.info("stopping the old Kafka consumer failed (%r); ignored", error)
    finally:
        metrics.KAFKA_CONSUMERS.set(0)


def _describe(assigned: set[TopicPartition]) -> str:
    counts: dict[str, int] = {}
    for tp in assigned:
        counts[tp.topic] = counts.get(tp.topic, 0) + 1
    return ", ".join(f"{topic} ({n} partitions)" for topic, n in sorted(counts.items()))
