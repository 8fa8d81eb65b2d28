"""The worker's settings, from the environment."""

from __future__ import annotations

from events.topics import DEFAULT_NAMESPACE, derived_topics
from stack.settings import env, env_int, settings

TOPIC_PARTITIONS = env_int("BANK_TOPIC_PARTITIONS", 6)
TOPIC_REPLICATION = env_int("BANK_TOPIC_REPLICATION", 1)
KAFKA_BOOTSTRAP = settings().kafka_bootstrap
# The derived topics, and the worker's consumer group and changelogs, live under one namespace.
TOPICS = derived_topics(env("BANK_TOPIC_NAMESPACE", DEFAULT_NAMESPACE))
APP_ID = f"{TOPICS.namespace}-soi"
