"""Kafka for bankctl: one admin client with short timeouts, and reads that stop at offsets taken
when the command starts, so every command ends in seconds while the bank keeps writing."""

from __future__ import annotations

import difflib
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from functools import cached_property

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient, ClusterMetadata, OffsetSpec, TopicMetadata

from kernel.kafka_client import librdkafka
from ops.errors import NotFound, OpsError, Unreachable

# (topic, partition)
Position = tuple[str, int]

# librdkafka reports every failed connection attempt on its own; bankctl says it once, clearly.
_QUIET = logging.getLogger("ops.librdkafka")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False

_FATAL_CONNECTION_ERRORS = {
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._TRANSPORT,
    KafkaError._RESOLVE,
    KafkaError._AUTHENTICATION,
    KafkaError._SSL,
}
# Answers of a broker that is no longer (or not yet) the partition's leader.
_LEADER_MOVED = {
    KafkaError.FENCED_LEADER_EPOCH,
    KafkaError.UNKNOWN_LEADER_EPOCH,
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
}
LEADER_MOVED_PAUSE_SECONDS = 0.2
_HINT = "is the stack up? `make status`; set BANK_KAFKA_BOOTSTRAP or pass --bootstrap"
# The broker answered but refused us: the address is right, the credentials or the CA are not.
_SECURITY_HINTS = {
    KafkaError._AUTHENTICATION: "check BANK_KAFKA_SASL_USERNAME, BANK_KAFKA_SASL_PASSWORD and "
    "BANK_KAFKA_SASL_MECHANISM (docs/managed-kafka.md)",
    KafkaError._SSL: "check BANK_KAFKA_SECURITY_PROTOCOL and BANK_KAFKA_SSL_CA_LOCATION "
    "(docs/managed-kafka.md)",
}


class Kafka:
    """The cluster at one bootstrap address."""

    def __init__(self, bootstrap: str, timeout: float = 5.0) -> None:
        self.bootstrap = bootstrap
        self.timeout = timeout
        self._errors: list[KafkaError] = []
        self.admin = AdminClient(self._client_config())

    def _client_config(self) -> dict[str, object]:
        return librdkafka(
            self.bootstrap,
            {
                "logger": _QUIET,
                "error_cb": self._errors.append,
                "socket.connection.setup.timeout.ms": int(self.timeout * 1000),
            },
        )

    @cached_property
    def metadata(self) -> ClusterMetadata:
        """The cluster's topics; raises Unreachable within the timeout when no broker answers."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return self.admin.list_topics(timeout=0.5)
            except KafkaException as error:
                last = error.args[0]
            self.admin.poll(0)  # delivers connection errors to error_cb
            fatal = [e for e in self._errors if e.code() in _FATAL_CONNECTION_ERRORS]
            if fatal or time.monotonic() > deadline:
                cause = _first_cause(fatal) or last.str()
                hints = [_SECURITY_HINTS[e.code()] for e in fatal if e.code() in _SECURITY_HINTS]
                raise Unreachable(
                    f"Kafka is not reachable: {cause}",
                    where=self.bootstrap,
                    hint=hints[0] if hints else _HINT,
                )

    def topic(self, name: str) -> TopicMetadata:
        topics = self.metadata.topics
        if name not in topics:
            close = difflib.get_close_matches(name, topics, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "`bankctl topics` lists them"
            raise NotFound(f"there is no topic {name!r}", where=self.bootstrap, hint=hint)
        return topics[name]

    def positions(self, topic: str, partition: int | None = None) -> list[Position]:
        """Every partition of a topic, or the one asked for."""
        partitions = sorted(self.topic(topic).partitions)
        if partition is None:
            return [(topic, p) for p in partitions]
        if partition not in partitions:
            raise NotFound(
                f"topic {topic!r} has no partition {partition}",
                where=self.bootstrap,
                hint=f"its partitions are 0..{len(partitions) - 1}",
            )
        return [(topic, partition)]

    def watermarks(self, positions: Iterable[Position]) -> dict[Position, tuple[int, int]]:
        """(first offset, end offset) of each partition, as of now."""
        positions = list(positions)
        low = self._list_offsets({p: OffsetSpec.earliest() for p in positions})
        high = self._list_offsets({p: OffsetSpec.latest() for p in positions})
        return {p: (low[p], high[p]) for p in positions}

    def offsets_at(self, positions: Iterable[Position], ts_ms: int) -> dict[Position, int]:
        """The first offset at or after a time in each partition (its end when there is none)."""
        positions = list(positions)
        found = self._list_offsets({p: OffsetSpec.for_timestamp(ts_ms) for p in positions})
        missing = [p for p, offset in found.items() if offset < 0]
        if missing:
            ends = self._list_offsets({p: OffsetSpec.latest() for p in missing})
            found.update(ends)
        return found

    def _list_offsets(self, specs: dict[Position, OffsetSpec]) -> dict[Position, int]:
        if not specs:
            return {}
        self.metadata  # noqa: B018 -- fail fast and clearly when Kafka is down
        request = {TopicPartition(t, p): spec for (t, p), spec in specs.items()}
        deadline = time.monotonic() + self.timeout
        while True:
            futures = self.admin.list_offsets(request, request_timeout=self.timeout)
            try:
                return {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}
            except KafkaException as error:
                failed = error.args[0]
            # On a cluster a partition's leader moves (a broker restarts, the preferred leader
            # takes it back): asked again, librdkafka finds the new leader.
            if failed.code() not in _LEADER_MOVED or time.monotonic() > deadline:
                raise OpsError(
                    f"Kafka could not list offsets: {failed.str()}", where=self.bootstrap
                )
            time.sleep(LEADER_MOVED_PAUSE_SECONDS)

    def consumer(self) -> Consumer:
        """A consumer that is only ever assigned partitions: it joins no group, commits nothing."""
        return Consumer(
            {
                **self._client_config(),
                "group.id": "bankctl",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
                "fetch.wait.max.ms": 100,
                # The worker writes in transactions: never show records of an aborted one.
                "isolation.level": "read_committed",
            }
        )

    def read(self, ranges: dict[Position, tuple[int, int]]) -> Iterator[Message]:
        """The records of each partition from its start offset up to (not including) its stop
        offset, in order within a partition."""
        todo = {pos: stop for pos, (start, stop) in ranges.items() if stop > start}
        if not todo:
            return
        consumer = self.consumer()
        try:
            consumer.assign([TopicPartition(t, p, ranges[(t, p)][0]) for t, p in todo])
            quiet_since = time.monotonic()
            while todo:
                messages = consumer.consume(1000, timeout=0.2)
                if messages:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > self.timeout:
                    waiting = ", ".join(f"{t}[{p}]" for t, p in sorted(todo))
                    raise Unreachable(
                        f"Kafka stopped delivering records of {waiting}",
                        where=self.bootstrap,
                        hint="check the broker's log: `make logs C=kafka`",
                    )
                for message in messages:
                    pos = (message.topic(), message.partition())
                    if pos not in todo:
                        continue
                    error = message.error()
                    if error is not None and error.code() != KafkaError._PARTITION_EOF:
                        raise OpsError(f"reading {pos[0]}[{pos[1]}]: {error.str()}")
                    if error is None and message.offset() < todo[pos]:
                        yield message
                    if error is not None or message.offset() >= todo[pos] - 1:
                        del todo[pos]
                        consumer.incremental_unassign([TopicPartition(*pos)])
        finally:
            consumer.close()

    def follow(self, start: dict[Position, int], stop: threading.Event) -> Iterator[Message]:
        """Every record from the given offsets on, waiting for new ones until ``stop`` is set."""
        consumer = self.consumer()
        seen_errors = len(self._errors)
        try:
            consumer.assign([TopicPartition(t, p, offset) for (t, p), offset in start.items()])
            while not stop.is_set():
                lost = [
                    e
                    for e in self._errors[seen_errors:]
                    if e.code() == KafkaError._ALL_BROKERS_DOWN
                ]
                if lost:
                    raise Unreachable(
                        f"Kafka went away while following: {lost[0].str()}",
                        where=self.bootstrap,
                        hint=_HINT,
                    )
                for message in consumer.consume(500, timeout=0.5):
                    error = message.error()
                    if error is None:
                        yield message
                    elif error.code() != KafkaError._PARTITION_EOF:
                        raise OpsError(f"reading {message.topic()}: {error.str()}")
        finally:
            consumer.close()


def _first_cause(errors: list[KafkaError]) -> str | None:
    """The most telling connection error: a refused or unresolved connection over 'all down'."""
    for error in errors:
        if error.code() != KafkaError._ALL_BROKERS_DOWN:
            return error.str().split(": ", 1)[-1]
    return errors[0].str() if errors else None
