"""The worker's settings, from the environment."""

from __future__ import annotations

from stack.settings import env_int, settings

TOPIC_PARTITIONS = env_int("BANK_TOPIC_PARTITIONS", 6)
TOPIC_REPLICATION = env_int("BANK_TOPIC_REPLICATION", 1)
KAFKA_BOOTSTRAP = settings().kafka_bootstrap
