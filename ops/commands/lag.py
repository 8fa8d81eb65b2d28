"""`bankctl lag`: how far behind each reader is."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.markup import escape
from rich.table import Table

from ops import config, render
from ops import lag as lag_of
from ops.commands import options
from ops.connector import Connect
from ops.errors import CANNOT
from ops.kafka import Kafka
from ops.lag import ConnectorsLag, GatewayLag, GroupLag, SourceLag


@options.reports_errors
def lag(
    as_json: options.JsonFlag = False,
    bootstrap: options.Bootstrap = None,
    connect_url: options.ConnectUrl = None,
    gateway_url: options.GatewayUrl = None,
    db_host: options.DbHost = None,
    db_port: options.DbPort = None,
    db_name: options.DbName = None,
    db_user: options.DbUser = None,
    timeout: options.Timeout = 5.0,
) -> None:
    """Lag of every reader: consumer groups, the gateway, the CDC connector.

    Each consumer group per partition and in total (the worker's derivation is group
    bank-derivation); the gateway, which reads without a group and reports its lag at
    /metrics; the CDC connector's committed binlog position against the database's. Exits 3
    when the gateway, Connect or the database cannot be asked (after showing what could be read).

    Example: `bankctl lag` or `bankctl lag --json | jq '.groups[] | {group, total}'`
    """
    kafka = Kafka(config.kafka_bootstrap(bootstrap), timeout)
    groups = lag_of.consumer_groups(kafka)
    gateway = lag_of.gateway(config.gateway_url(gateway_url), timeout)
    database = options.open_database(db_host, db_port, db_name, db_user, timeout)
    try:
        connectors = lag_of.source_connectors(
            Connect(config.connect_url(connect_url), timeout), database
        )
    finally:
        database.close()
    if as_json:
        render.print_json(
            {
                "groups": [g.to_json() for g in groups],
                "gateway": asdict(gateway),
                "connectors": asdict(connectors),
            }
        )
    else:
        render.print_all(lag_tables(groups, gateway, connectors))
    unanswered = lag_of.unanswered(gateway, connectors)
    if unanswered:
        # The numbers that could be read are shown; the exit code says some could not.
        for problem in unanswered:
            render.console(stderr=True).print(f"[bold red]error:[/] {escape(problem)}")
        raise typer.Exit(CANNOT)


def lag_tables(
    groups: list[GroupLag], gateway: GatewayLag, connectors: ConnectorsLag
) -> list[Table | str]:
    out: list[Table | str] = [_group_table(g) for g in groups] or ["no consumer groups"]
    out += _gateway_lag(gateway)
    out += _connectors_lag(connectors)
    return out


def _group_table(group: GroupLag) -> Table:
    table = Table(
        title=f"consumer group {escape(group.group)}: {group.state}, "
        f"{group.members} member(s), lag {group.total:,}",
        title_justify="left",
    )
    for name in ("topic", "partition", "committed", "end", "lag", "worker"):
        table.add_column(name, justify="left" if name in ("topic", "worker") else "right")
    for p in group.partitions:
        table.add_row(
            escape(p.topic),
            str(p.partition),
            "none" if p.committed is None else f"{p.committed:,}",
            f"{p.end:,}",
            "-" if p.lag is None else f"{p.lag:,}",
            escape(p.worker or "-"),
        )
    if not group.partitions:
        table.add_row("(no committed offsets)", "", "", "", "", "")
    table.add_section()
    workers = group.by_worker()
    if len(workers) > 1:
        for worker, lag in sorted(workers.items()):
            table.add_row(f"lag of {escape(worker)}", "", "", "", f"{lag:,}", "")
    table.add_row("[bold]total[/]", "", "", "", f"[bold]{group.total:,}[/]", "")
    return table


def _gateway_lag(gateway: GatewayLag) -> list[Table | str]:
    title = f"gateway {escape(gateway.url)}: one consumer, no group; lag from its /metrics"
    if gateway.by_topic is None:
        return [f"{title}: n/a, {escape(gateway.problem or '')}"]
    table = Table()
    table.add_column("topic")
    table.add_column("lag", justify="right")
    for topic, lag in sorted(gateway.by_topic.items()):
        table.add_row(escape(topic), f"{lag:,}")
    table.add_section()
    table.add_row("[bold]total[/]", f"[bold]{sum(gateway.by_topic.values()):,}[/]")
    return [title, table]


def _connectors_lag(connectors: ConnectorsLag) -> list[str]:
    if connectors.problem:
        return [f"connectors at {escape(connectors.url)}: n/a, {escape(connectors.problem)}"]
    return [_source_lag_line(s) for s in connectors.sources] or ["no source connectors"]


def _source_lag_line(source: SourceLag) -> str:
    head = f"connector {escape(source.connector)}"
    if source.position is None:
        return f"{head}: no committed binlog position yet"
    p = source.position
    at = f"{head} at binlog {p.get('file')}:{p.get('pos')}, gtid {p.get('gtids')}"
    if source.behind is None:
        return f"{at}; database position n/a{_problem(source.problem)}"
    verdict = (
        "caught up"
        if source.behind == 0
        else f"at most {source.behind} transaction(s) behind (of any table)"
    )
    return f"{at}; database at gtid {source.database_gtids}: {verdict}"


def _problem(problem: str | None) -> str:
    return f" ({escape(problem)})" if problem else ""
