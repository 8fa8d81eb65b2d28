"""When each balance change became readable in Kafka, seen by a reader of the benchmark's own.

The gateway stamps ``sent_at`` when it builds a change's frame, right after reading the record;
the worker stamps ``derived_at`` before its transaction commits. What lies between is the
worker's commit, the broker, and the gateway's own read. This reader, in a thread of the
benchmark's process with nothing else to do, tells those apart: a record it sees long before
the gateway built the frame was in Kafka, readable, while the gateway had not read it yet.
"""

from __future__ import annotations

import threading
import time

from confluent_kafka import TopicPartition

from events import codec
from events.topics import configured_topics
from ops.kafka import Kafka

# (iban, sequence): epoch ms this reader got the record
Seen = dict[tuple[str, int], float]


class KafkaWatch:
    """Follows the balance-changed topic from its end, read_committed, as the gateway reads it."""

    def __init__(self, bootstrap: str) -> None:
        self.seen: Seen = {}
        self._kafka = Kafka(bootstrap)
        self._topic = configured_topics().balance_changed
        self._stop = threading.Event()
        self._started = threading.Event()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="bench-kafka-watch", daemon=True)

    def __enter__(self) -> KafkaWatch:
        self._thread.start()
        self._started.wait(30)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        try:
            ends = self._kafka.watermarks(self._kafka.positions(self._topic))
            start = {position: high for position, (_low, high) in ends.items()}
            self._started.set()
            consumer = self._kafka.consumer()
            try:
                consumer.assign([TopicPartition(t, p, offset) for (t, p), offset in start.items()])
                while not self._stop.is_set():
                    # One record at a time: a batched read would stamp a record when its
                    # batch is full, not when it arrived.
                    message = consumer.poll(0.2)
                    if message is None or message.error() is not None:
                        continue
                    arrived = time.time() * 1000
                    event = codec.decode(message.value()).value
                    self.seen.setdefault((event["iban"], event["sequence"]), arrived)
            finally:
                consumer.close()
        except Exception as error:  # the run goes on without this split; the report says so
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self._started.set()
