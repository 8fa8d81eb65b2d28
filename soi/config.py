"""The worker's settings, from the environment."""

from __future__ import annotations

import socket

from events.topics import DEFAULT_NAMESPACE, derived_topics
from stack.kafka_client import librdkafka
from stack.settings import env, env_int, settings

TOPIC_PARTITIONS = env_int("BANK_TOPIC_PARTITIONS", 6)
# One copy per Kafka node, up to three (stack/settings.py), unless said otherwise.
TOPIC_REPLICATION = env_int("BANK_TOPIC_REPLICATION", settings().replication_factor)
# With three copies a write waits for two of them (acks=all): losing a node loses nothing.
TOPIC_MIN_INSYNC = 2 if TOPIC_REPLICATION >= 3 else 1
KAFKA_BOOTSTRAP = settings().kafka_bootstrap
# The derived topics, and the worker's consumer group and state, live under one namespace.
TOPICS = derived_topics(env("BANK_TOPIC_NAMESPACE", DEFAULT_NAMESPACE))
# The Faust application hosting the worker (its web page, its lifecycle).
APP_ID = f"{TOPICS.namespace}-soi"
# The consumer group of the derivation, and its per-account memory (compacted, co-partitioned).
DERIVATION_GROUP = f"{TOPICS.namespace}-derivation"
STATE_TOPIC = f"{DERIVATION_GROUP}-state"


def kafka_client() -> dict[str, object]:
    """The connection (address, TLS, SASL) every Kafka client of the worker starts from."""
    return librdkafka()


def worker_instance(web_port: int) -> str:
    """Stable across restarts of one worker, so a restart aborts what the killed run left open
    and takes back the worker's partitions; distinct between workers (two sharing one would fence
    each other)."""
    instance = env("BANK_SOI_INSTANCE", f"{socket.gethostname()}-{web_port}")
    return f"{DERIVATION_GROUP}-{instance}"
