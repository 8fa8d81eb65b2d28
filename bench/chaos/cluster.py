"""A cluster stack's moving parts, for its drills and tests: which broker leads which partitions,
whether every copy is back in sync, and which Connect worker runs the connector's task."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import httpx
from confluent_kafka.admin import AdminClient, ConfigResource

from kernel.connector import load_connector
from kernel.kafka_client import librdkafka
from kernel.settings import Settings
from stack import status
from stack.kafka_node import kafka_name
from stack.processes import connect_name


def _admin(config: Settings) -> AdminClient:
    return AdminClient(librdkafka(config.kafka_bootstrap, {"log_level": 0}))


@dataclass(frozen=True)
class PartitionCopies:
    topic: str
    partition: int
    leader: int
    replicas: tuple[int, ...]
    in_sync: tuple[int, ...]


def partitions(config: Settings, timeout: float = 10) -> list[PartitionCopies]:
    """Every partition of every topic, Kafka's own included."""
    metadata = _admin(config).list_topics(timeout=timeout)
    return [
        PartitionCopies(name, p.id, p.leader, tuple(p.replicas), tuple(p.isrs))
        for name, topic in metadata.topics.items()
        for p in topic.partitions.values()
    ]


def min_insync_by_topic(config: Settings, topics: list[str]) -> dict[str, int]:
    """Each topic's min.insync.replicas as Kafka applies it (its own, else the broker's)."""
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in topics]
    admin = _admin(config)  # kept until the answers are in: its end cancels them
    described = admin.describe_configs(resources, request_timeout=15)
    return {
        resource.name: int(future.result()["min.insync.replicas"].value)
        for resource, future in described.items()
    }


def short_of_copies(config: Settings) -> list[str]:
    """Partitions with fewer copies in sync than they have (or without a leader)."""
    return [
        f"{p.topic}[{p.partition}] in sync {list(p.in_sync)} of {list(p.replicas)}"
        for p in partitions(config)
        if len(p.in_sync) < len(p.replicas) or p.leader < 0
    ]


def wait_in_sync(config: Settings, timeout: float) -> None:
    """Until every partition has every copy in sync (a restarted broker has caught up)."""
    deadline = time.monotonic() + timeout
    short: list[str] = ["not asked yet"]
    while time.monotonic() < deadline:
        try:
            short = short_of_copies(config)
        except Exception as error:  # a broker in the middle of restarting
            short = [f"metadata not readable: {error}"]
        if not short:
            return
        time.sleep(1)
    raise TimeoutError(
        f"{len(short)} partitions not fully in sync after {timeout:.0f}s: {short[:5]}"
    )


def busiest_broker(config: Settings) -> str:
    """The component of the broker leading the most partitions: losing it moves the most."""
    leaders = Counter(p.leader for p in partitions(config) if p.leader >= 0)
    node, _ = leaders.most_common(1)[0]
    return kafka_name(node)


def broker_components(config: Settings) -> list[str]:
    return [kafka_name(n) for n in config.kafka_node_ids]


def connect_components(config: Settings) -> list[str]:
    return [connect_name(n) for n in range(1, config.connect_workers + 1)]


def connector_task(config: Settings) -> tuple[str, str] | None:
    """(state, component of the worker running it) of the connector's first task, asked of
    whichever Connect worker answers; None when none answers or there is no task."""
    name, _ = load_connector()
    for url in config.connect_worker_urls:
        try:
            response = httpx.get(f"{url}/connectors/{name}/status", timeout=3)
            response.raise_for_status()
        except httpx.HTTPError:
            continue
        tasks = response.json().get("tasks", [])
        if not tasks:
            return None
        worker = tasks[0].get("worker_id", "")
        return tasks[0]["state"], _component_at(config, worker)
    return None


def _component_at(config: Settings, worker_id: str) -> str:
    _, _, port = worker_id.rpartition(":")
    current = status.read(config) or {"components": {}}
    for component in current["components"].values():
        if port.isdigit() and int(port) in component["ports"].values():
            return component["name"]
    return worker_id
