"""What `make status` says about the topology: how many of each stage run, and, while the stack
serves, where things are: the brokers in the cluster and partitions short of copies, the
connector's task and the Connect worker running it, each Faust worker's partitions and lag."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kernel.settings import Settings

TIMEOUT_SECONDS = 3.0


def plan_line(config: Settings) -> str:
    """The topology as configured (no service asked)."""
    return (
        f"topology {config.topology}: Kafka {config.kafka_nodes} node(s), Connect "
        f"{config.connect_workers} worker(s), Faust {config.soi_workers} worker(s), "
        f"{config.soe_gateways} gateway(s); each topic {config.replication_factor} "
        f"cop{'y' if config.replication_factor == 1 else 'ies'}, a write needs "
        f"{config.min_insync_replicas}"
    )


def live_lines(config: Settings, components: Iterable[dict[str, Any]]) -> list[str]:
    """Each asked of the services themselves; one that does not answer says so in its line."""
    components = list(components)
    return [
        _kafka_line(config),
        *_connector_lines(config, components),
        *_worker_lines(config, components),
    ]


def component_at_port(components: Iterable[dict[str, Any]], port: int) -> str | None:
    for component in components:
        if port in component["ports"].values():
            return component["name"]
    return None


def _kafka_line(config: Settings) -> str:
    from ops.kafka import Kafka
    from ops.topics import summaries

    try:
        kafka = Kafka(config.kafka_bootstrap, TIMEOUT_SECONDS)
        brokers = sorted(kafka.metadata.brokers)
        topics = summaries(kafka, include_internal=True)
    except Exception as error:  # shown, not raised: status goes on
        return f"Kafka: no answer ({error})"
    short = [t.name for t in topics if t.under_replicated]
    below = [t.name for t in topics if t.min_insync is not None and t.in_sync < t.min_insync]
    line = (
        f"Kafka: brokers {', '.join(map(str, brokers))} of {config.kafka_nodes} in the cluster; "
        f"{len(topics)} topics, "
        + (f"{len(short)} with partitions short of copies" if short else "every copy in sync")
    )
    if below:
        line += f"; writes refused on {', '.join(below)} (fewer in sync than the minimum)"
    return line


def _connector_lines(config: Settings, components: list[dict[str, Any]]) -> list[str]:
    from ops.connector import Connect
    from ops.errors import OpsError

    lines = []
    for url in config.connect_worker_urls:
        connect = Connect(url, TIMEOUT_SECONDS)
        try:
            statuses = [connect.status(name) for name in connect.names()]
        except OpsError:
            continue  # ask the next worker: any of the group answers for all
        for status in statuses:
            for task in status.tasks or []:
                worker = task.worker or "?"
                _, _, port = worker.rpartition(":")
                name = component_at_port(components, int(port)) if port.isdigit() else None
                lines.append(
                    f"connector {status.name}: {status.state}, task {task.id} {task.state} "
                    f"on {name or '?'} ({worker})"
                )
            if not status.tasks:
                lines.append(f"connector {status.name}: {status.state}, no task running")
        return lines
    return ["Kafka Connect: no worker answers"]


def _worker_lines(config: Settings, components: list[dict[str, Any]]) -> list[str]:
    from ops.kafka import Kafka
    from ops.lag import consumer_groups
    from soi.config import DERIVATION_GROUP

    try:
        groups = consumer_groups(Kafka(config.kafka_bootstrap, TIMEOUT_SECONDS))
    except Exception as error:  # shown, not raised: status goes on
        return [f"Faust workers: lag not readable ({error})"]
    derivation = next((g for g in groups if g.group == DERIVATION_GROUP), None)
    if derivation is None:
        return [f"Faust workers: no group {DERIVATION_GROUP} yet"]
    by_worker: dict[str, list[int]] = {}
    for p in derivation.partitions:
        by_worker.setdefault(p.worker or "unassigned", []).append(p.partition)
    lag = derivation.by_worker()
    parts = []
    for client, partitions in sorted(by_worker.items()):
        _, _, port = client.rpartition("-")
        name = component_at_port(components, int(port)) if port.isdigit() else None
        parts.append(
            f"{name or client} partitions {','.join(map(str, sorted(partitions)))} "
            f"lag {lag.get(client, 0):,}"
        )
    return [f"Faust group {derivation.group} ({derivation.state}): " + "; ".join(parts)]
