"""The derivation loop: read money changes, derive, write, commit, exactly once per batch.

One Kafka transaction per batch holds everything the batch caused: the derived events, each
touched account's new memory (the state topic), and the input offsets consumed. Readers on
read_committed see all of it or none of it, so a crash, a kill or a rebalance at any point
repeats nothing and loses nothing.

A batch is what the consumer has fetched when the previous one is done: at low load one record
(no timer to wait out), under load up to ``MAX_BATCH`` records, which share one transaction.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from events import codec
from soi import state
from soi.accounts import AccountMemory
from soi.alerts import Thresholds
from soi.derivation import (
    ACCOUNT_BALANCE,
    ALERT,
    BALANCE_CHANGED,
    DEAD_LETTER,
    Batch,
    InputRecord,
    derive_batch,
)
from soi.watchdog import Watchdog

log = logging.getLogger(__name__)

MAX_BATCH = 2000
POLL_SECONDS = 0.2
# How long a batch holding a new ledger entry waits, at most, for that booking's balance update;
# the wait ends as soon as every such update has arrived.
BOOKING_WAIT_SECONDS = 0.05
# librdkafka's transaction calls wait for ever by default: one stuck while the brokers rolled held
# its partitions, silently, for minutes. Each call is bounded and, timed out, asked again; past
# TRANSACTION_GIVE_UP_SECONDS the worker stops (exit 70) and its restart fences what it left open.
TRANSACTION_CALL_SECONDS = 10.0
TRANSACTION_GIVE_UP_SECONDS = 120.0
# Some calls do not keep their timeout (soi/watchdog.py): one still running this long after its
# timeout is stuck, and the watchdog stops the worker. In the cluster's drills a late call came
# back, if ever, only when some broker changed state (once after 15.2 s, mostly never); each stuck
# second is a second of derivation lost and a restart costs about 5 s, so the margin covers a
# busy machine's scheduling, not a wait that might end.
TRANSACTION_STUCK_AFTER_SECONDS = 5.0
# A worker waiting for its group to give it partitions says so this often: the supervisor gives a
# starting process more time while its log grows (stack/supervisor.py), and the operator sees why
# it is not ready (on a cluster whose brokers restart, finding the group's coordinator takes long).
WAITING_NOTE_SECONDS = 10.0
# A new ledger entry and an account row in Debezium's envelope (its JSON converter writes no
# spaces): found in the raw bytes, so the wait costs no parsing. Both are keyed by the account id
# (connect/sor-connector.json), so an entry and its account's update share key and partition.
_NEW_LEDGER_ENTRY = (b'"table":"ledger_entry"', b'"op":"c"')
_ACCOUNT_ROW = b'"table":"account"'


@dataclass(frozen=True)
class PipelineConfig:
    # Bootstrap servers and security settings; kept out of the repr: it holds the password.
    client: dict[str, object] = field(repr=False)
    input_topic: str
    group: str
    # One per worker, stable across its restarts: the transactional id's fencing and the group's
    # static membership both rest on it.
    instance: str
    state_topic: str
    # role -> topic name
    topics: dict[str, str]
    transaction_timeout_ms: int = 10_000


@dataclass
class Progress:
    """What the worker has done, for its readiness page and its logs."""

    assigned: tuple[int, ...] = ()
    joined: bool = False
    records: int = 0
    changes: int = 0
    dead_letters: int = 0
    redelivered: int = 0
    batches: int = 0
    aborted: int = 0
    last_batch: int = 0
    skipped_offsets: int = 0
    started_at: float = field(default_factory=time.monotonic)


def _now_ms() -> int:
    return int(time.time() * 1000)


class Pipeline:
    def __init__(
        self,
        config: PipelineConfig,
        thresholds: Thresholds,
        now_ms: Callable[[], int] = _now_ms,
        watchdog: Watchdog | None = None,
    ) -> None:
        self.config = config
        self.thresholds = thresholds
        self.now_ms = now_ms
        # Watches every transaction call while the pipeline runs (the worker's stops it).
        self.watchdog = watchdog
        self.progress = Progress()
        self.stopping = threading.Event()
        self._state = state.StateTopic(config.client, config.state_topic)
        # Per owned input partition: account id -> memory, as of the last committed batch.
        self._memory: dict[int, dict[str, AccountMemory]] = {}
        # Per owned input partition: the next offset expected (to notice a skipped record).
        self._next: dict[int, int] = {}
        self._noted_waiting = self.progress.started_at
        self._consumer = Consumer(
            {
                **config.client,
                "group.id": config.group,
                "client.id": config.instance,
                # Static membership: a worker restarted after a kill takes its partitions back at
                # once instead of waiting for its old session to time out and a rebalance.
                "group.instance.id": config.instance,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                # A worker killed hard is noticed in seconds and its partitions move.
                "session.timeout.ms": 10_000,
                "heartbeat.interval.ms": 2_000,
            }
        )
        self._producer = Producer(
            {
                **config.client,
                "transactional.id": config.instance,
                # What transactions require anyway, said here: every in-sync copy has the batch.
                "acks": "all",
                "transaction.timeout.ms": config.transaction_timeout_ms,
                # Java's partitioner: keys land where every other Kafka client puts them.
                "partitioner": "murmur2_random",
                # Within a transaction records wait at most this for company; the commit
                # flushes at once, so a lone change is not held back.
                "linger.ms": 5,
                # A batch's first record waits for the previous transaction's markers
                # (CONCURRENT_TRANSACTIONS, retried): the default 100 ms back-off would hold
                # light-load changes back by that much.
                "retry.backoff.ms": 5,
            }
        )

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        """Derive until ``stopping`` is set. A bug or a fatal Kafka error propagates."""
        # Every schema is registered (and its id known) before the first record: a registry that
        # refuses one stops the worker here, not halfway through a batch.
        codec.register_topics(self.config.topics)
        if self.watchdog is not None:
            self.watchdog.start()
        try:
            # Aborts what a previous run of this worker left open.
            self._retrying("starting transactions", self._producer.init_transactions)
            self._consumer.subscribe(
                [self.config.input_topic], on_assign=self._on_assign, on_revoke=self._on_revoke
            )
            try:
                while not self.stopping.is_set():
                    messages = self._poll()
                    if messages:
                        self._process(messages)
                    if not self.progress.joined:
                        self.note_waiting(time.monotonic())
            finally:
                self._consumer.close()
        finally:
            if self.watchdog is not None:
                self.watchdog.stop()

    def note_waiting(self, now: float) -> None:
        """Logs, every WAITING_NOTE_SECONDS, that the worker still waits for its partitions."""
        if now - self._noted_waiting < WAITING_NOTE_SECONDS:
            return
        self._noted_waiting = now
        log.info(
            "waiting %.0f s so far for group %s to give this worker partitions of %s "
            "(finding the group's coordinator, or a rebalance)",
            now - self.progress.started_at,
            self.config.group,
            self.config.input_topic,
        )

    def _retrying(self, what: str, call: Callable[[float], object]) -> None:
        retrying(what, call, self.watchdog)

    def _poll(self) -> list[Message]:
        """What is there now, or the first record to arrive: a batch never waits to fill.
        One exception: a batch holding a new ledger entry without its account's balance update
        (the same database transaction, which the connector sends right behind it, sometimes in
        the next request) waits for that update, at most BOOKING_WAIT_SECONDS, and no longer
        than it takes to arrive; committing the entry alone would hold the update back by a
        whole transaction commit."""
        messages = self._consumer.consume(MAX_BATCH, 0)
        if not messages:
            messages = self._consumer.consume(1, POLL_SECONDS)
            if messages:
                messages += self._consumer.consume(MAX_BATCH - 1, 0)
        deadline = time.monotonic() + BOOKING_WAIT_SECONDS
        waiting = open_bookings(_triples(messages))
        while waiting and len(messages) < MAX_BATCH:
            remaining = deadline - time.monotonic()
            follow = self._consumer.consume(1, remaining) if remaining > 0 else []
            if not follow:
                break
            room = MAX_BATCH - len(messages) - len(follow)
            if room > 0:
                follow += self._consumer.consume(room, 0)
            messages += follow
            waiting = open_bookings(_triples(follow), waiting)
        records = []
        for message in messages:
            error = message.error()
            if error is None:
                records.append(message)
            elif ends_the_consumer(error):
                raise KafkaException(error)
            else:
                log.warning("consuming %s: %s", self.config.input_topic, error)
        return records

    def _process(self, messages: list[Message]) -> None:
        records = [
            InputRecord(m.topic(), m.partition(), m.offset(), m.key(), m.value()) for m in messages
        ]
        self._check_contiguous(records)
        batch = derive_batch(records, self._memory, self.thresholds, self.now_ms)
        try:
            self._commit(batch)
        except KafkaException as error:
            if not error.args[0].txn_requires_abort():
                raise
            self._abort(records, error)
            return
        for (partition, account), memory in batch.remembered.items():
            owned = self._memory.get(partition)
            if owned is not None:
                owned[account] = memory
        for record in records:
            self._next[record.partition] = record.offset + 1
        self._count(records, batch)

    def _commit(self, batch: Batch) -> None:
        producer, topics = self._producer, self.config.topics
        producer.begin_transaction()
        for output in batch.outputs:
            topic = topics[output.role]
            value = None  # a tombstone
            if output.value is not None:
                value = codec.encode(output.role, output.value, topic=topic)
            self._produce(topic, output.key, value)
        for (partition, account), memory in batch.remembered.items():
            self._produce(
                self.config.state_topic, account.encode(), state.encode(memory), partition
            )
        offsets = batch_offsets(self.config.input_topic, batch.records)
        group = self._consumer.consumer_group_metadata()
        # A broker failing over, or this process frozen for a while, times these out: retried.
        self._retrying(
            "committing the batch's offsets",
            lambda timeout: producer.send_offsets_to_transaction(offsets, group, timeout),
        )
        self._retrying("committing the batch", producer.commit_transaction)

    def _produce(self, topic: str, key: bytes, value: bytes | None, partition: int = -1) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, partition=partition)
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                self._producer.poll(0.05)

    def _abort(self, records: list[InputRecord], error: KafkaException) -> None:
        """Undo the batch: Kafka discards its records, we rewind to its first offsets."""
        log.warning("batch of %d records aborted: %s; reading it again", len(records), error)
        self.progress.aborted += 1
        self._retrying("aborting the batch", self._producer.abort_transaction)
        first: dict[int, int] = {}
        for record in records:
            first.setdefault(record.partition, record.offset)
        owned = {tp.partition for tp in self._consumer.assignment()}
        for partition, offset in first.items():
            if partition in owned:
                self._consumer.seek(TopicPartition(self.config.input_topic, partition, offset))

    def _check_contiguous(self, records: list[InputRecord]) -> None:
        """Kafka Connect writes the input without transactions or compaction: every offset holds
        a record. A jump means records were skipped; never expected, always said."""
        expected = dict(self._next)
        for record in records:
            want = expected.get(record.partition)
            if want is not None and record.offset > want:
                self.progress.skipped_offsets += record.offset - want
                log.error(
                    "%s[%d]: offsets %d to %d were not delivered",
                    record.topic,
                    record.partition,
                    want,
                    record.offset - 1,
                )
            expected[record.partition] = record.offset + 1

    def _count(self, records: list[InputRecord], batch: Batch) -> None:
        progress = self.progress
        progress.records += len(records)
        progress.changes += sum(1 for o in batch.outputs if o.role == BALANCE_CHANGED)
        progress.dead_letters += batch.dead_letters
        progress.redelivered += batch.redelivered
        progress.batches += 1
        progress.last_batch = len(records)

    # -- partitions moving between workers -------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        owned = [tp.partition for tp in partitions]
        self._warn_about_retention(consumer, partitions)
        self._memory.update(self._state.load(owned))
        for partition in owned:
            self._next.pop(partition, None)
        self.progress.assigned = tuple(sorted(self._memory))
        self.progress.joined = True
        log.info("deriving %s partitions %s", self.config.input_topic, owned)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._memory.pop(tp.partition, None)
            self._next.pop(tp.partition, None)
        self.progress.assigned = tuple(sorted(self._memory))
        if partitions:
            log.info(
                "%s partitions %s moved away",
                self.config.input_topic,
                [tp.partition for tp in partitions],
            )

    def _warn_about_retention(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Records deleted by retention before they were derived are lost to the bank's topics:
        said when the partition is taken, with the command that finds the accounts."""
        try:
            # Short timeouts: the worker is starting and says nothing meanwhile (a log silent
            # for a minute makes the supervisor give up on it); the check is advice, not a gate.
            committed = consumer.committed(partitions, timeout=10)
            low_watermarks = [consumer.get_watermark_offsets(tp, timeout=10)[0] for tp in committed]
        except KafkaException as error:
            log.warning("could not compare committed offsets with retention: %s", error)
            return
        for tp, low in zip(committed, low_watermarks, strict=True):
            if tp.error is not None or tp.offset < 0:
                continue
            if tp.offset < low:
                self.progress.skipped_offsets += low - tp.offset
                log.error(
                    "%s[%d]: offsets %d to %d were deleted by retention before being derived; "
                    "`bankctl reconcile` lists the accounts that differ",
                    tp.topic,
                    tp.partition,
                    tp.offset,
                    low - 1,
                )


def topic_roles(balance_changed: str, balances: str, alerts: str, dead_letters: str) -> dict:
    return {
        BALANCE_CHANGED: balance_changed,
        ACCOUNT_BALANCE: balances,
        ALERT: alerts,
        DEAD_LETTER: dead_letters,
    }


def ends_the_consumer(error: KafkaError) -> bool:
    """A fatal error: the consumer is unusable and the worker must start again (the supervisor
    restarts it). librdkafka hands some over as an event of code _FATAL whose own fatal flag is
    not set: a static member fenced by itself after the group coordinator moved (seen in the
    rolling restart of the brokers), which otherwise left the worker polling a dead consumer."""
    return error.fatal() or error.code() == KafkaError._FATAL


Booking = tuple[int, bytes | None]  # (partition, key) of a new ledger entry


def open_bookings(
    records: Iterable[tuple[int, bytes | None, bytes | None]],
    already_open: Iterable[Booking] = (),
) -> set[Booking]:
    """The new ledger entries that no later update of their account follows yet, among
    (partition, key, value) CDC records in the order read, after those ``already_open`` (so a
    batch's records are looked at once, however many times the wait goes on)."""
    waiting = set(already_open)
    for partition, key, value in records:
        if value is None:
            continue
        if all(marker in value for marker in _NEW_LEDGER_ENTRY):
            waiting.add((partition, key))
        elif _ACCOUNT_ROW in value:
            waiting.discard((partition, key))
    return waiting


def _triples(messages: list[Message]) -> Iterator[tuple[int, bytes | None, bytes | None]]:
    for message in messages:
        if message.error() is None:
            yield message.partition(), message.key(), message.value()


class TransactionStuck(RuntimeError):
    """A transaction call kept timing out: the worker stops rather than hold its partitions."""


def retrying(what: str, call: Callable[[float], object], watchdog: Watchdog | None = None) -> None:
    """`call(timeout)` until it succeeds; a retriable Kafka error (a broker failing over, this
    process frozen for a while) is asked again, for at most TRANSACTION_GIVE_UP_SECONDS. Each
    call is watched: one running TRANSACTION_STUCK_AFTER_SECONDS past its timeout is stuck."""
    give_up = time.monotonic() + TRANSACTION_GIVE_UP_SECONDS
    limit = TRANSACTION_CALL_SECONDS + TRANSACTION_STUCK_AFTER_SECONDS
    while True:
        watched = (
            watchdog.watching(what, limit) if watchdog is not None else contextlib.nullcontext()
        )
        started = time.monotonic()
        try:
            with watched:
                try:
                    call(TRANSACTION_CALL_SECONDS)
                finally:
                    _say_if_late(what, time.monotonic() - started)
            return
        except KafkaException as exception:
            error = exception.args[0]
            if not error.retriable():
                raise
            if time.monotonic() >= give_up:
                raise TransactionStuck(
                    f"{what}: {error} for {TRANSACTION_GIVE_UP_SECONDS:.0f} s"
                ) from exception
            log.warning("%s: %s; trying again", what, error)


def _say_if_late(what: str, took: float) -> None:
    """A call back well after its own timeout is said: the sign of librdkafka waiting on
    something it should have given up on (soi/watchdog.py), short of the watchdog's limit."""
    if took > TRANSACTION_CALL_SECONDS + 1:
        log.warning("%s took %.1f s, past its %.0f s timeout", what, took, TRANSACTION_CALL_SECONDS)


def batch_offsets(topic: str, records: list[InputRecord]) -> list[TopicPartition]:
    """The offsets to commit for a batch: per partition, the one after its last record."""
    after: dict[int, int] = {}
    for record in records:
        after[record.partition] = record.offset + 1
    return [TopicPartition(topic, partition, offset) for partition, offset in after.items()]
