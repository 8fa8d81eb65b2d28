"""Every topic with its partitions, replication (copies, in-sync copies, the minimum a write
needs), clean-up policy and how many records it holds."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import ConfigResource

from ops.errors import OpsError
from ops.kafka import Kafka


@dataclass(frozen=True)
class TopicSummary:
    name: str
    partitions: int
    replication: int
    # The fewest in-sync copies of any partition: below `replication` some partition is
    # catching up (or lost a node); below `min_insync` writes to it are refused.
    in_sync: int
    min_insync: int | None
    under_replicated: int  # partitions with fewer in-sync copies than copies
    cleanup_policy: str
    retention_ms: int | None  # None: kept forever
    start_offsets: int
    end_offsets: int

    @property
    def messages(self) -> int:
        """End minus start offsets: exact for a deleting topic, an upper bound for a compacted
        one (compaction leaves holes) and for one written in transactions (commit markers)."""
        return self.end_offsets - self.start_offsets

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "messages": self.messages}


def summaries(kafka: Kafka, include_internal: bool = False) -> list[TopicSummary]:
    topics = {
        name: meta
        for name, meta in kafka.metadata.topics.items()
        if include_internal or not name.startswith("__")
    }
    configs = _configs(kafka, list(topics))
    marks = kafka.watermarks((name, p) for name, meta in topics.items() for p in meta.partitions)
    result = []
    for name in sorted(topics):
        partitions = topics[name].partitions
        retention = configs[name].get("retention.ms")
        result.append(
            TopicSummary(
                name=name,
                partitions=len(partitions),
                replication=max((len(p.replicas) for p in partitions.values()), default=0),
                in_sync=min((len(p.isrs) for p in partitions.values()), default=0),
                min_insync=_whole(configs[name].get("min.insync.replicas")),
                under_replicated=sum(len(p.isrs) < len(p.replicas) for p in partitions.values()),
                cleanup_policy=configs[name].get("cleanup.policy", "?"),
                retention_ms=None if retention in (None, "-1") else int(retention),
                start_offsets=sum(marks[(name, p)][0] for p in partitions),
                end_offsets=sum(marks[(name, p)][1] for p in partitions),
            )
        )
    return result


def _whole(value: str | None) -> int | None:
    return None if value is None else int(value)


def _configs(kafka: Kafka, names: list[str]) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in names]
    futures = kafka.admin.describe_configs(resources, request_timeout=kafka.timeout)
    try:
        return {
            resource.name: {key: entry.value for key, entry in future.result().items()}
            for resource, future in futures.items()
        }
    except KafkaException as error:
        raise OpsError(
            f"Kafka could not describe the topics' configs: {error.args[0].str()}",
            where=kafka.bootstrap,
        ) from None
