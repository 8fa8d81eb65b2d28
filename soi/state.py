"""What the worker remembers per account, kept in a compacted topic co-partitioned with its input.

Each account's memory is written to the state topic in the same Kafka transaction as the events
derived from it and the input offsets they consumed, to the partition number of the input record
it came from. So a worker given input partition ``p`` reads state partition ``p`` to the end and
holds exactly the memory that matches the committed offsets: no replay, no second event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from tenacity import (
    before_sleep_log,
    retry,
    retry_if_exception,
    stop_after_delay,
    wait_fixed,
)

from soi.accounts import AccountMemory

log = logging.getLogger(__name__)

LOAD_TIMEOUT_SECONDS = 60.0
# A long read says how far it got this often (a starting worker's log must not fall silent).
PROGRESS_NOTE_SECONDS = 10.0


# A topic just created, or a partition whose leader is moving, answers these for a moment.
_TRANSIENT = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
}


def _transient(error: BaseException) -> bool:
    return isinstance(error, KafkaException) and error.args[0].code() in _TRANSIENT


@retry(
    retry=retry_if_exception(_transient),
    stop=stop_after_delay(LOAD_TIMEOUT_SECONDS),
    wait=wait_fixed(0.5),
    before_sleep=before_sleep_log(log, logging.INFO),
    reraise=True,
)
def _watermarks(consumer: Consumer, partition: TopicPartition) -> tuple[int, int]:
    return consumer.get_watermark_offsets(partition, timeout=10)


def encode(memory: AccountMemory) -> bytes:
    return orjson.dumps(memory.to_json())


def decode(raw: bytes) -> AccountMemory:
    return AccountMemory.from_json(orjson.loads(raw))


def _account_of(key: bytes) -> str:
    return key.decode()


class StateTopic:
    """Reads partitions of the state topic, committed records only (read_committed).
    ``account_of`` reads a record's key (the account id): the state topic's own by default."""

    def __init__(
        self,
        client_config: dict[str, object],
        topic: str,
        account_of: Callable[[bytes], str] = _account_of,
    ) -> None:
        self.topic = topic
        self._account_of = account_of
        self._config = {
            **client_config,
            "group.id": f"{topic}-loader",  # never joins or commits: partitions are assigned
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }

    def load(self, partitions: Iterable[int]) -> dict[int, dict[str, AccountMemory]]:
        """Every account's latest memory, per partition, up to the end each partition had when
        asked. A frozen previous owner's open transaction holds the read back until Kafka aborts
        it (transaction.timeout.ms)."""
        wanted = sorted(set(partitions))
        loaded: dict[int, dict[str, AccountMemory]] = {p: {} for p in wanted}
        if not wanted:
            return loaded
        consumer = Consumer(self._config)
        # Asked read_uncommitted, Kafka gives the true end (asked read_committed: the LSO).
        ends_of = Consumer({**self._config, "isolation.level": "read_uncommitted"})
        try:
            # Read to the end as it is now, past every transaction written so far: end-of-
            # partition alone comes at the last *stable* offset, short of a transaction whose
            # commit markers are still being written (the previous owner's last batch: on a
            # cluster its markers wait for two copies), and its memory would be missed.
            ends: dict[int, int] = {}
            assignment = []
            for partition in wanted:
                low, high = _watermarks(ends_of, TopicPartition(self.topic, partition))
                if high > low:
                    ends[partition] = high
                    assignment.append(TopicPartition(self.topic, partition, OFFSET_BEGINNING))
            consumer.assign(assignment)
            pending = set(ends)
            deadline = time.monotonic() + LOAD_TIMEOUT_SECONDS
            noted, records = time.monotonic(), 0
            while pending:
                if time.monotonic() > deadline:
                    missing = sorted(pending)
                    raise TimeoutError(f"{self.topic} partitions {missing} not read in time")
                if time.monotonic() - noted >= PROGRESS_NOTE_SECONDS:
                    noted = time.monotonic()
                    log.info(
                        "still reading %s partitions %s to their end (%d records so far)",
                        self.topic,
                        sorted(pending),
                        records,
                    )
                for message in consumer.consume(1000, 0.5):
                    error = message.error()
                    if error is not None:
                        # The offset an end-of-partition reports is where the fetch stands:
                        # short of `ends` while a transaction there is undecided.
                        partition = message.partition()
                        if error.code() == KafkaError._PARTITION_EOF:
                            if message.offset() >= ends[partition]:
                                pending.discard(partition)
                            continue
                        raise KafkaException(error)
                    records += 1
                    accounts = loaded[message.partition()]
                    account = self._account_of(message.key())
                    if message.value() is None:
                        accounts.pop(account, None)
                    else:
                        accounts[account] = decode(message.value())
                    if message.offset() + 1 >= ends[message.partition()]:
                        pending.discard(message.partition())
        finally:
            consumer.close()
            ends_of.close()
        log.info(
            "state of %d accounts read from %s partitions %s",
            sum(len(a) for a in loaded.values()),
            self.topic,
            wanted,
        )
        return loaded
