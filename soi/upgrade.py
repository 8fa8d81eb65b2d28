"""Taking over from the worker of earlier releases, which kept its memory in Faust tables.

That worker's consumer group (`<namespace>-soi`) committed how far it had read the money stream,
and its table `account-memory` (a JSON changelog, written to the partition of the input record)
held each account's memory. A stack upgraded in place would otherwise derive the whole history
again with new sequence numbers. So, once, before the derivation group has committed anything,
the memory is copied into the state topic and the old group's offsets become the new group's,
in one transaction.
"""

from __future__ import annotations

import logging

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from soi import state
from soi.accounts import AccountMemory

log = logging.getLogger(__name__)

TIMEOUT = 30.0


def legacy_names(namespace: str) -> tuple[str, str]:
    """The consumer group and the account-memory changelog of the Faust-table worker."""
    return f"{namespace}-soi", f"{namespace}-soi-account-memory-changelog"


def adopt_legacy_state(
    client: dict[str, object],
    input_topic: str,
    group: str,
    state_topic: str,
    legacy_group: str,
    legacy_changelog: str,
) -> bool:
    """Copies the old worker's memory and progress; False when there is nothing to take over."""
    probe = Consumer({**client, "group.id": group, "enable.auto.commit": False})
    try:
        metadata = probe.list_topics(timeout=TIMEOUT)
        if legacy_changelog not in metadata.topics or input_topic not in metadata.topics:
            return False
        partitions = sorted(metadata.topics[input_topic].partitions)
        wanted = [TopicPartition(input_topic, p) for p in partitions]
        if any(tp.offset >= 0 for tp in probe.committed(wanted, timeout=TIMEOUT)):
            return False  # the derivation has run already
        legacy = _committed(client, legacy_group, wanted)
        if not legacy:
            return False
        memories = _read_changelog(client, legacy_changelog)
        _write(client, group, state_topic, memories, legacy, probe)
    finally:
        probe.close()
    log.warning(
        "took over from the Faust-table worker: %d accounts' memory and %s's offsets; "
        "%s and %s can be deleted",
        sum(len(m) for m in memories.values()),
        legacy_group,
        legacy_group,
        legacy_changelog,
    )
    return True


def _committed(
    client: dict[str, object], group: str, wanted: list[TopicPartition]
) -> list[TopicPartition]:
    consumer = Consumer({**client, "group.id": group, "enable.auto.commit": False})
    try:
        return [tp for tp in consumer.committed(wanted, timeout=TIMEOUT) if tp.offset >= 0]
    finally:
        consumer.close()


def _read_changelog(client: dict[str, object], topic: str) -> dict[int, dict[str, AccountMemory]]:
    """Per partition, each account's last memory (Faust's JSON keys and values)."""
    consumer = Consumer(
        {
            **client,
            "group.id": f"{topic}-upgrade",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    found: dict[int, dict[str, AccountMemory]] = {}
    try:
        partitions = consumer.list_topics(topic, timeout=TIMEOUT).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        pending = set(partitions)
        while pending:
            for message in consumer.consume(1000, TIMEOUT):
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise RuntimeError(f"reading {topic}: {error.str()}")
                    pending.discard(message.partition())
                    continue
                account = str(orjson.loads(message.key()))
                accounts = found.setdefault(message.partition(), {})
                if message.value() is None:
                    accounts.pop(account, None)
                else:
                    accounts[account] = AccountMemory.from_json(orjson.loads(message.value()))
    finally:
        consumer.close()
    return found


def _write(
    client: dict[str, object],
    group: str,
    state_topic: str,
    memories: dict[int, dict[str, AccountMemory]],
    offsets: list[TopicPartition],
    consumer: Consumer,
) -> None:
    producer = Producer({**client, "transactional.id": f"{group}-upgrade"})
    producer.init_transactions(TIMEOUT)
    producer.begin_transaction()
    for partition, accounts in memories.items():
        for account, memory in accounts.items():
            producer.produce(
                state_topic, state.encode(memory), account.encode(), partition=partition
            )
    producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), TIMEOUT)
    producer.commit_transaction(TIMEOUT)
