"""The worker's settings, from the environment."""

from __future__ import annotations

import socket

from events.topics import configured_topics
from kernel.kafka_client import librdkafka
from kernel.settings import BankSettings, TopicSettings, settings

_TOPICS = TopicSettings.load()
TOPIC_PARTITIONS = _TOPICS.partitions
TOPIC_REPLICATION = _TOPICS.replication
# With three copies a write waits for two of them (acks=all): losing a node loses nothing.
TOPIC_MIN_INSYNC = _TOPICS.min_insync
KAFKA_BOOTSTRAP = settings().kafka_bootstrap
# The derived topics, and the worker's consumer group and state, live under one namespace.
TOPICS = configured_topics(_TOPICS)
# The Faust application hosting the worker (its web page, its lifecycle).
APP_ID = f"{TOPICS.namespace}-soi"
# The consumer group of the derivation, and its per-account memory (compacted, co-partitioned).
DERIVATION_GROUP = f"{TOPICS.namespace}-derivation"
STATE_TOPIC = f"{DERIVATION_GROUP}-state"


class WorkerSettings(BankSettings):
    """The worker's own variables."""

    # Names this worker's transactional producer; the host and web port unless set.
    soi_instance: str | None = None


def kafka_client() -> dict[str, object]:
    """The connection (address, TLS, SASL) every Kafka client of the worker starts from."""
    return librdkafka()


def worker_instance(web_port: int) -> str:
    """Stable across restarts of one worker, so a restart aborts what the killed run left open
    and takes back the worker's partitions; distinct between workers (two sharing one would fence
    each other)."""
    instance = WorkerSettings.load().soi_instance or f"{socket.gethostname()}-{web_port}"
    return f"{DERIVATION_GROUP}-{instance}"
