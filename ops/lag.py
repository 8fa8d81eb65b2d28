"""How far behind each reader is: Kafka's consumer groups (the Faust worker), the gateway (no
group: it reports its own lag at /metrics) and the CDC connector (its binlog position against the
database's)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import httpx
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException
from prometheus_client.parser import text_string_to_metric_families

from ops.connector import Connect
from ops.database import Database
from ops.errors import OpsError
from ops.kafka import Kafka, Position

GATEWAY_LAG_METRIC = "soe_consumer_lag"


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: the group never committed an offset here
    end: int
    # The member reading it (its client id: a Faust worker's names its host and web port);
    # None while no member holds it (the group is empty or rebalancing).
    worker: str | None = None

    @property
    def lag(self) -> int | None:
        return None if self.committed is None else max(0, self.end - self.committed)


@dataclass(frozen=True)
class GroupLag:
    group: str
    state: str
    members: int
    partitions: list[PartitionLag]

    @property
    def total(self) -> int:
        return sum(p.lag or 0 for p in self.partitions)

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "state": self.state,
            "members": self.members,
            "total": self.total,
            "partitions": [{**asdict(p), "lag": p.lag} for p in self.partitions],
            "workers": self.by_worker(),
        }

    def by_worker(self) -> dict[str, int]:
        """Lag summed per member reading the partitions ("unassigned" for the rest)."""
        totals: dict[str, int] = {}
        for p in self.partitions:
            worker = p.worker or "unassigned"
            totals[worker] = totals.get(worker, 0) + (p.lag or 0)
        return totals


@dataclass(frozen=True)
class GatewayLag:
    url: str
    by_topic: dict[str, int] | None
    problem: str | None = None


@dataclass(frozen=True)
class SourceLag:
    """A source connector's committed binlog position against the database's current one."""

    connector: str
    position: dict[str, Any] | None
    database_gtids: str | None
    behind: int | None  # at most this many transactions, of any table, over all GTID domains
    problem: str | None = None


def consumer_groups(kafka: Kafka) -> list[GroupLag]:
    admin, timeout = kafka.admin, kafka.timeout
    kafka.metadata  # noqa: B018 -- fail fast and clearly when Kafka is down
    try:
        listed = admin.list_consumer_groups(request_timeout=timeout).result()
        ids = sorted(g.group_id for g in listed.valid)
        if not ids:
            return []
        described = {
            g: f.result()
            for g, f in admin.describe_consumer_groups(ids, request_timeout=timeout).items()
        }
        committed: dict[str, dict[Position, int]] = {}
        for group in ids:
            request = [ConsumerGroupTopicPartitions(group)]
            (future,) = admin.list_consumer_group_offsets(request, request_timeout=timeout).values()
            committed[group] = {
                (tp.topic, tp.partition): tp.offset for tp in future.result().topic_partitions
            }
    except KafkaException as error:
        raise OpsError(
            f"Kafka could not describe its consumer groups: {error.args[0].str()}",
            where=kafka.bootstrap,
        ) from None

    owners = {
        group: {
            (tp.topic, tp.partition): member.client_id or member.member_id
            for member in description.members
            for tp in member.assignment.topic_partitions
        }
        for group, description in described.items()
    }
    assigned = {group: set(owned) for group, owned in owners.items()}
    positions = {p for group in ids for p in (*committed[group], *assigned[group])}
    marks = kafka.watermarks(p for p in positions if p[0] in kafka.metadata.topics)
    result = []
    for group in ids:
        rows = [
            PartitionLag(
                t,
                p,
                _offset(committed[group].get((t, p))),
                marks[(t, p)][1],
                owners[group].get((t, p)),
            )
            for t, p in sorted({*committed[group], *assigned[group]})
            if (t, p) in marks and _counts_as_input(t, p, committed[group])
        ]
        state = described[group].state.name.lower().replace("_", " ")
        result.append(GroupLag(group, state, len(described[group].members), rows))
    return result


def committed_lag(kafka: Kafka, group: str, topic: str) -> int:
    """Records of `topic` that consumer group `group` has not committed yet (all of them on a
    partition it never committed)."""
    request = [ConsumerGroupTopicPartitions(group)]
    try:
        (future,) = kafka.admin.list_consumer_group_offsets(
            request, request_timeout=kafka.timeout
        ).values()
        committed = {
            tp.partition: tp.offset for tp in future.result().topic_partitions if tp.topic == topic
        }
    except KafkaException as error:
        raise OpsError(
            f"Kafka could not list the offsets of group {group}: {error.args[0].str()}",
            where=kafka.bootstrap,
        ) from None
    ends = kafka.watermarks(kafka.positions(topic))
    return sum(
        max(0, end - max(committed.get(partition, 0), 0))
        for (_topic, partition), (_start, end) in ends.items()
    )


def _offset(committed: int | None) -> int | None:
    return committed if committed is not None and committed >= 0 else None


def _counts_as_input(topic: str, partition: int, committed: dict[Position, int]) -> bool:
    """A group's lag is over what it commits. Faust also holds its tables' changelogs by
    assignment and never commits them: those are state, not unread input."""
    return (topic, partition) in committed or not committed


def gateway(url: str, timeout: float) -> GatewayLag:
    try:
        response = httpx.get(f"{url}/metrics", timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as error:
        return GatewayLag(url, None, f"gateway metrics not readable: {error}")
    by_topic = {
        sample.labels.get("topic", "?"): int(sample.value)
        for family in text_string_to_metric_families(response.text)
        if family.name == GATEWAY_LAG_METRIC
        for sample in family.samples
    }
    if not by_topic:
        return GatewayLag(url, None, f"the gateway exports no {GATEWAY_LAG_METRIC}")
    return GatewayLag(url, by_topic)


@dataclass(frozen=True)
class ConnectorsLag:
    url: str
    sources: list[SourceLag]
    problem: str | None = None


def source_connectors(connect: Connect, database: Database) -> ConnectorsLag:
    """Best effort: lag is Kafka's question first; Connect or the database being down is shown
    in place of their numbers."""
    try:
        sources = [
            SourceLag(name, _committed_position(connect, name), None, None)
            for name in connect.names()
            if connect.status(name).type == "source"
        ]
    except OpsError as error:
        return ConnectorsLag(connect.url, [], error.what)
    try:
        now = database.gtid_position()
    except OpsError as error:
        return ConnectorsLag(connect.url, [replace(s, problem=error.what) for s in sources])
    return ConnectorsLag(connect.url, [_against(s, now) for s in sources])


def unanswered(gateway: GatewayLag, connectors: ConnectorsLag) -> list[str]:
    """What `lag` could not read, each naming where: any of it makes the answer incomplete."""
    problems = [f"{gateway.url}: {gateway.problem}"] if gateway.problem else []
    if connectors.problem:
        problems.append(f"{connectors.url}: {connectors.problem}")
    problems += [f"connector {s.connector}: {s.problem}" for s in connectors.sources if s.problem]
    return problems


def _committed_position(connect: Connect, name: str) -> dict[str, Any] | None:
    offsets = connect.offsets(name)
    return offsets[0]["offset"] if offsets else None


def _against(source: SourceLag, now: str) -> SourceLag:
    position = source.position or {}
    if not position.get("gtids"):
        return replace(source, database_gtids=now)
    behind = gtid_distance(position["gtids"], now)
    if position.get("event"):
        # Debezium's gtids are those finished before the transaction it was reading; an event
        # count means it had read into the next one, the last it sent records of.
        behind = max(0, behind - 1)
    return replace(source, database_gtids=now, behind=behind)


def gtid_distance(seen: str, now: str) -> int:
    """Transactions between two MariaDB GTID positions, summed over replication domains.

    Between a connector's position and the database's, an upper bound of what it has still to
    read: transactions of tables it does not capture count too, and its position moves only on
    captured ones."""
    return sum(
        max(0, seq - _sequences(seen).get(domain, 0)) for domain, seq in _sequences(now).items()
    )


def _sequences(position: str) -> dict[str, int]:
    result: dict[str, int] = {}
    for gtid in filter(None, (part.strip() for part in position.split(","))):
        domain, _server, sequence = gtid.split("-")
        result[domain] = max(result.get(domain, 0), int(sequence))
    return result
