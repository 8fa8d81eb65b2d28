"""The Kafka nodes of the stack (KRaft, broker and controller in one process each)."""

from __future__ import annotations

from pathlib import Path

from kernel.settings import Settings, TopicSettings
from stack.process import Process, java_command, write_properties
from stack.readiness import KafkaReady


def kafka_name(node: int) -> str:
    return "kafka" if node == 1 else f"kafka-{node}"


def kafka_data_dir(settings: Settings, node: int = 1) -> Path:
    return settings.path("data", kafka_name(node))


def kafka_properties(settings: Settings, node: int = 1) -> dict[str, object]:
    host = settings.host
    port, controller = settings.kafka_node_port(node), settings.kafka_node_controller_port(node)
    voters = ",".join(
        f"{n}@{host}:{settings.kafka_node_controller_port(n)}" for n in settings.kafka_node_ids
    )
    replicas, min_insync = settings.replication_factor, settings.min_insync_replicas
    properties: dict[str, object] = {
        "process.roles": "broker,controller",
        "node.id": node,
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": kafka_data_dir(settings, node),
        # Topics are created explicitly: by Connect for CDC, by the Faust worker for the rest.
        "auto.create.topics.enable": "false",
        "num.partitions": TopicSettings.load().partitions,
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min_insync,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": min_insync,
        "group.initial.rebalance.delay.ms": 0,
        "log.retention.hours": 168,
    }
    if settings.kafka_nodes > 1:
        properties |= {
            # Topics created without a replication factor (Debezium's schema history, the
            # registry's journal) get one copy per node, and every write waits for two of them.
            "default.replication.factor": replicas,
            "min.insync.replicas": min_insync,
            # A copy that lost its node is never made leader: that would drop acknowledged writes.
            "unclean.leader.election.enable": "false",
            # Kafka's own topics with 12 partitions, not 50: a node restarting after kill -9
            # recovers and catches up every copy it holds, three times as many as a single
            # node's, and minutes went by on two busy cores. 12 is plenty for this bank's groups.
            "offsets.topic.num.partitions": 12,
            "transaction.state.log.num.partitions": 12,
        }
    return properties


def kafka(settings: Settings, node: int = 1) -> Process:
    from stack.kafka_storage import format_storage

    name = kafka_name(node)
    config = settings.path("config", f"{name}.properties")

    def prepare() -> None:
        write_properties(config, kafka_properties(settings, node))
        format_storage(settings, config, kafka_data_dir(settings, node))

    cluster = settings.kafka_nodes > 1
    return Process(
        name=name,
        description="Kafka broker and controller in KRaft mode"
        + (f" (node {node} of {settings.kafka_nodes})" if cluster else ""),
        command=java_command(
            settings, settings.kafka_heap, "kafka.Kafka", str(config), log_name=name
        ),
        ports={
            "kafka": settings.kafka_node_port(node),
            "controller": settings.kafka_node_controller_port(node),
        },
        ready=KafkaReady(
            f"{settings.host}:{settings.kafka_node_port(node)}", node if cluster else None
        ),
        prepare=prepare,
    )


def kafka_nodes(settings: Settings) -> list[Process]:
    """Every node of the cluster; they start together (a controller quorum needs a majority)."""
    return [kafka(settings, n) for n in settings.kafka_node_ids]
