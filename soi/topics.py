"""Creating the worker's topics explicitly, with Kafka's admin client."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from events import topics
from soi.config import (
    STATE_TOPIC,
    TOPIC_MIN_INSYNC,
    TOPIC_PARTITIONS,
    TOPIC_REPLICATION,
    TOPICS,
    kafka_client,
)

log = logging.getLogger(__name__)

WEEK_MS = 7 * 24 * 3600 * 1000

TOPIC_CONFIGS: dict[str, dict[str, str]] = {
    # CDC topics: created here too so they exist (co-partitioned: BANK_TOPIC_PARTITIONS) before
    # the first change.
    topics.CDC_MONEY: {"cleanup.policy": "delete", "retention.ms": str(WEEK_MS)},
    topics.CDC_CUSTOMERS: {"cleanup.policy": "delete", "retention.ms": str(WEEK_MS)},
    TOPICS.balance_changed: {"cleanup.policy": "delete", "retention.ms": str(WEEK_MS)},
    TOPICS.balances: {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"},
    TOPICS.alerts: {"cleanup.policy": "delete", "retention.ms": str(WEEK_MS)},
    TOPICS.dead_letters: {"cleanup.policy": "delete", "retention.ms": str(4 * WEEK_MS)},
    # The worker's memory per account. Compaction never touches the active segment, so segments
    # roll every 10 minutes: a worker taking a partition reads about one record per account.
    STATE_TOPIC: {
        "cleanup.policy": "compact",
        "segment.ms": str(10 * 60 * 1000),
        "min.cleanable.dirty.ratio": "0.1",
    },
}


def ensure_topics(client: dict[str, object] | None = None) -> None:
    admin = AdminClient(client or kafka_client())
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [
        NewTopic(
            name,
            TOPIC_PARTITIONS,
            TOPIC_REPLICATION,
            config={**config, "min.insync.replicas": str(TOPIC_MIN_INSYNC)},
        )
        for name, config in TOPIC_CONFIGS.items()
        if name not in existing
    ]
    if not wanted:
        return
    for name, future in admin.create_topics(wanted).items():
        try:
            future.result()
            log.info("created topic %s", name)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # another worker won
                raise
