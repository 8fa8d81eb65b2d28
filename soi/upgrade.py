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
from confluent_kafka import Consumer, Producer, TopicPartition

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
        changelog = metadata.topics[legacy_changelog].partitions
        memories = state.StateTopic(client, legacy_changelog, _faust_key).load(changelog)
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


def _faust_key(key: bytes) -> str:
    """Faust's table keys are JSON (``"7"``) or raw digits: the account id either way."""
    return str(orjson.loads(key))


def _write(
    client: dict[str, object],
    group: str,
    state_topic: str,
    memories: dict[int, dict[str, AccountMemory]],
    offsets: list[TopicPartition],
    consumer: Consumer,
) -> None:
    producer = Producer({**client, "transactional.id": f"{group}-upgrade", "acks": "all"})
    producer.init_transactions(TIMEOUT)
    producer.begin_transaction()
    for partition, accounts in memories.items():
        for account, memory in accounts.items():
            producer.produce(
                state_topic, state.encode(memory), account.encode(), partition=partition
            )
    producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), TIMEOUT)
    producer.commit_transaction(TIMEOUT)
