"""The Debezium connector's definition: connect/sor-connector.json, completed from the settings.

The local runner and the compose file register it, bankctl names it, the tests read it; each
takes it from here so that all of them register the same connector.
"""

from __future__ import annotations

import json
from pathlib import Path

from kernel import kafka_client
from kernel.settings import REPO_ROOT, TopicSettings

CONNECTOR_FILE = REPO_ROOT / "connect" / "sor-connector.json"


def load_connector(path: Path = CONNECTOR_FILE) -> tuple[str, dict[str, str]]:
    """The connector's name and config, with the partition count and replication of the CDC
    topics it creates (BANK_TOPIC_*: co-partitioned with the worker's topics) and the TLS and
    SASL settings of Debezium's schema-history clients (they do not inherit the worker's)."""
    spec = json.loads(path.read_text())
    topics = TopicSettings.load()
    creation = {
        "topic.creation.default.partitions": str(topics.partitions),
        "topic.creation.default.replication.factor": str(topics.replication),
    }
    if topics.min_insync > 1:
        # On a cluster a CDC write waits for two copies; Debezium's schema history writes with
        # acks=1 unless told, so it is told to wait for every in-sync copy too.
        creation["topic.creation.default.min.insync.replicas"] = str(topics.min_insync)
        creation["schema.history.internal.producer.acks"] = "all"
    security = kafka_client.from_environment().debezium_schema_history()
    return spec["name"], {**spec["config"], **creation, **security}
