"""`bankctl`: the commands, their options and their exit codes. The work is done elsewhere in
ops/; this module only wires options to it and output to the terminal."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.markup import escape

from events import topics
from kernel.connector import load_connector
from kernel.settings import ConfigurationError
from ops import config, render
from ops import lag as lag_of
from ops.connector import Connect, ConnectorStatus, paused, resumed, running
from ops.consume import Selection, end_offsets, follow, history, parse_since
from ops.database import Database
from ops.errors import CANNOT, FINDINGS, OpsError
from ops.gateway import Gateway
from ops.interrupt import stop_requested
from ops.kafka import Kafka
from ops.reconcile import Reconciliation
from ops.records import looks_like_iban
from ops.topics import summaries
from ops.trace import trace

app = typer.Typer(
    name="bankctl",
    help="The live bank's ops console: topics, records, lag, connectors, one account's trail, "
    "and whether everything adds up. Exit codes: 0 all good, 1 something is wrong (a failed "
    "connector, a mismatch), 2 a usage error, 3 a service cannot be reached or a name is unknown.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)

P = ParamSpec("P")
R = TypeVar("R")

Bootstrap = Annotated[
    str | None,
    typer.Option(
        "--bootstrap",
        help="Kafka bootstrap servers. Default: BANK_KAFKA_BOOTSTRAP, else 127.0.0.1:9092.",
        show_default=False,
    ),
]
Timeout = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait for a service before giving up.")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="JSON for scripts instead of a table.")]


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """An OpsError becomes its message on stderr and exit code 3; Ctrl-C ends quietly."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (OpsError, ConfigurationError) as error:
            render.console(stderr=True).print(f"[bold red]error:[/] {escape(str(error))}")
            raise typer.Exit(CANNOT) from None
        except KeyboardInterrupt:
            raise typer.Exit(0) from None

    return wrapper


@app.command("topics")
@reports_errors
def list_topics(
    as_json: JsonFlag = False,
    include_internal: Annotated[
        bool, typer.Option("--internal", help="Also Kafka's own topics (__consumer_offsets).")
    ] = False,
    bootstrap: Bootstrap = None,
    timeout: Timeout = 5.0,
) -> None:
    """Every topic: partitions, replication, retention or compaction, message counts.

    Message counts are end minus start offsets: an upper bound (≤) for a compacted topic.

    Example: `bankctl topics` or `bankctl topics --json | jq '.[].name'`
    """
    found = summaries(Kafka(config.kafka_bootstrap(bootstrap), timeout), include_internal)
    if as_json:
        render.print_json([t.to_json() for t in found])
    else:
        render.console().print(render.topics_table(found))


ConnectUrl = Annotated[
    str | None,
    typer.Option(
        "--connect-url",
        help="Kafka Connect's REST API. Default: http://BANK_HOST:BANK_CONNECT_PORT "
        "(http://127.0.0.1:8083).",
        show_default=False,
    ),
]
GatewayUrl = Annotated[
    str | None,
    typer.Option(
        "--gateway-url",
        help="The gateway. Default: http://BANK_HOST:BANK_SOE_PORT (http://127.0.0.1:8001).",
        show_default=False,
    ),
]
DbHost = Annotated[
    str | None,
    typer.Option(help="Database host. Default: BANK_DB_HOST, else BANK_HOST.", show_default=False),
]
DbPort = Annotated[
    int | None,
    typer.Option(help="Database port. Default: BANK_DB_PORT (3306).", show_default=False),
]
DbName = Annotated[
    str | None, typer.Option(help="Database. Default: BANK_DB_NAME (bank).", show_default=False)
]
DbUser = Annotated[
    str | None,
    typer.Option(
        help="Database user. Default: BANK_DB_USER (bank); the password is BANK_DB_PASSWORD.",
        show_default=False,
    ),
]


def _database(
    host: str | None, port: int | None, name: str | None, user: str | None, timeout: float
) -> Database:
    return Database(config.database(host, port, name, user), timeout)


@app.command()
@reports_errors
def consume(
    topic: Annotated[str, typer.Argument(help="e.g. sor.bank.money or bank.balance-changed")],
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the first record.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(help="Start at a time: 10m, 2h, 1d ago, 2026-11-23T09:30 (UTC) or epoch ms."),
    ] = None,
    follow_new: Annotated[
        bool, typer.Option("--follow", "-f", help="Then print new records as they arrive.")
    ] = False,
    from_end: Annotated[
        bool,
        typer.Option(
            "--from-end", help="No history: start at the end and print only new records (follows)."
        ),
    ] = False,
    key: Annotated[
        str | None,
        typer.Option(
            help="Only records of this key: an IBAN (on sor.bank.money too, whose key is the "
            'account id: the IBAN is looked up in the database), or an id as in {"account_id": 7}.'
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="How many records from history: the first N with --from-beginning or --since, "
            "else the last N (default 10).",
            show_default=False,
        ),
    ] = None,
    partition: Annotated[int | None, typer.Option(help="Only this partition.")] = None,
    output: Annotated[
        render.Output, typer.Option("--output", "-o", help="table, json (pretty) or jsonl.")
    ] = render.Output.table,
    bootstrap: Bootstrap = None,
    db_host: DbHost = None,
    db_port: DbPort = None,
    db_name: DbName = None,
    db_user: DbUser = None,
    timeout: Timeout = 5.0,
) -> None:
    """Decoded records of any topic, oldest first.

    Debezium envelopes show as before → after with the operation and binlog position, Avro
    events are decoded with the repo's schemas, undecodable records are marked as such with
    their offset. Reads up to the end offsets taken at start, then stops, or with --follow
    goes on printing new records until Ctrl-C; --from-end prints only new ones.

    Example: `bankctl consume bank.balance-changed --key NL58LIVE0000000001 --limit 5`
    """
    if key and topic == topics.CDC_MONEY and looks_like_iban(key):
        database = _database(db_host, db_port, db_name, db_user, timeout)
        try:
            key = str(database.account(key).id)
        finally:
            database.close()
    selection = Selection(
        topic=topic,
        partition=partition,
        key=key,
        from_beginning=from_beginning,
        since_ms=parse_since(since) if since else None,
        limit=limit,
    )
    kafka = Kafka(config.kafka_bootstrap(bootstrap), timeout)
    if from_end:
        ends = end_offsets(kafka, selection)
    else:
        past, ends = history(kafka, selection)
        render.records(past, output, title=f"{topic}: {len(past)} records")
    if follow_new or from_end:
        with stop_requested() as stop:
            for record in follow(kafka, selection, ends, stop):
                render.records([record], output)


@app.command()
@reports_errors
def lag(
    as_json: JsonFlag = False,
    bootstrap: Bootstrap = None,
    connect_url: ConnectUrl = None,
    gateway_url: GatewayUrl = None,
    db_host: DbHost = None,
    db_port: DbPort = None,
    db_name: DbName = None,
    db_user: DbUser = None,
    timeout: Timeout = 5.0,
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
    database = _database(db_host, db_port, db_name, db_user, timeout)
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
        render.print_all(render.lag_tables(groups, gateway, connectors))
    unanswered = lag_of.unanswered(gateway, connectors)
    if unanswered:
        # The numbers that could be read are shown; the exit code says some could not.
        for problem in unanswered:
            render.console(stderr=True).print(f"[bold red]error:[/] {escape(problem)}")
        raise typer.Exit(CANNOT)


connector_app = typer.Typer(
    help="Kafka Connect's connectors: status, restart, pause, resume.", no_args_is_help=True
)
app.add_typer(connector_app, name="connector")

ConnectorName = Annotated[
    str | None,
    typer.Argument(
        help="Connector name. Default: the bank's own, from connect/sor-connector.json.",
        show_default=False,
    ),
]
Wait = Annotated[
    float, typer.Option(help="Seconds to wait for the connector to get there before showing it.")
]


def _bank_connector() -> str:
    return load_connector()[0]


def _show_connectors(
    statuses: list[ConnectorStatus], as_json: bool, full_trace: bool = False
) -> None:
    if as_json:
        render.print_json([s.to_json() for s in statuses])
    else:
        render.print_all(
            [render.connectors_table(statuses), *render.failure_traces(statuses, full_trace)]
        )
    if not statuses or any(s.failed for s in statuses):
        raise typer.Exit(FINDINGS)


@connector_app.command("status")
@reports_errors
def connector_status(
    name: Annotated[
        str | None,
        typer.Argument(help="Connector name. Default: every connector.", show_default=False),
    ] = None,
    full_trace: Annotated[
        bool, typer.Option("--full-trace", help="The whole stack trace of a failed task.")
    ] = False,
    as_json: JsonFlag = False,
    connect_url: ConnectUrl = None,
    timeout: Timeout = 5.0,
) -> None:
    """Connectors and their tasks' states, with the error trace of any that FAILED.

    Exits 1 when one has failed (or none is registered).

    Example: `bankctl connector status` or `bankctl connector status bank-sor --json`
    """
    connect = Connect(config.connect_url(connect_url), timeout)
    names = [name] if name else connect.names()
    _show_connectors([connect.status(n) for n in names], as_json, full_trace)


@connector_app.command("restart")
@reports_errors
def connector_restart(
    name: ConnectorName = None,
    only_failed: Annotated[
        bool, typer.Option("--only-failed", help="Restart only the connector or tasks that failed.")
    ] = False,
    wait: Wait = 30.0,
    stable: Annotated[
        float, typer.Option(help="Seconds it must keep running to count as restarted.")
    ] = 3.0,
    connect_url: ConnectUrl = None,
    timeout: Timeout = 5.0,
) -> None:
    """Restart a connector and its tasks; show its status once it runs steadily or fails.

    Exits 1 when it fails again.

    Example: `bankctl connector restart bank-sor --only-failed`
    """
    connect, name = Connect(config.connect_url(connect_url), timeout), name or _bank_connector()
    connect.restart(name, only_failed)  # the status says RESTARTING from here on
    status = connect.watch(name, running, wait, stable=stable, stop_on_failure=True)
    _show_connectors([status], as_json=False)


@connector_app.command("pause")
@reports_errors
def connector_pause(
    name: ConnectorName = None,
    wait: Wait = 30.0,
    connect_url: ConnectUrl = None,
    timeout: Timeout = 5.0,
) -> None:
    """Pause a connector: it stops reading the binlog and keeps its position.

    Example: `bankctl connector pause bank-sor`
    """
    connect, name = Connect(config.connect_url(connect_url), timeout), name or _bank_connector()
    connect.pause(name)
    _show_connectors([connect.watch(name, paused, wait)], as_json=False)


@connector_app.command("resume")
@reports_errors
def connector_resume(
    name: ConnectorName = None,
    wait: Wait = 30.0,
    connect_url: ConnectUrl = None,
    timeout: Timeout = 5.0,
) -> None:
    """Resume a paused connector from where it stopped.

    Example: `bankctl connector resume bank-sor`
    """
    connect, name = Connect(config.connect_url(connect_url), timeout), name or _bank_connector()
    connect.resume(name)
    _show_connectors([connect.watch(name, resumed, wait)], as_json=False)


@app.command("trace")
@reports_errors
def trace_account(
    iban: Annotated[str, typer.Argument(help="The account's IBAN (spaces allowed).")],
    limit: Annotated[int, typer.Option(min=1, help="How many of its latest changes.")] = 5,
    as_json: JsonFlag = False,
    cdc_topic: Annotated[
        str, typer.Option(help="The CDC topic of accounts and ledger entries.")
    ] = topics.CDC_MONEY,
    events_topic: Annotated[
        str, typer.Option(help="The BalanceChanged topic.")
    ] = topics.BALANCE_CHANGED,
    bootstrap: Bootstrap = None,
    gateway_url: GatewayUrl = None,
    db_host: DbHost = None,
    db_port: DbPort = None,
    db_name: DbName = None,
    db_user: DbUser = None,
    timeout: Timeout = 5.0,
) -> None:
    """One account's latest changes hop by hop, with the delay of each hop.

    For each ledger row in the database: its CDC record (offset, commit and capture time), the
    derived BalanceChanged (offset, derive time) and when the gateway fanned it out to how many
    watchers. A hop not reached yet says so; the gateway hop says n/a when the gateway cannot
    be asked or no longer remembers the event.

    Example: `bankctl trace 'NL58 LIVE 0000 0000 01' --limit 3`
    """
    database = _database(db_host, db_port, db_name, db_user, timeout)
    kafka = Kafka(config.kafka_bootstrap(bootstrap), timeout)
    gateway = Gateway(config.gateway_url(gateway_url), timeout)
    try:
        found = trace(database, kafka, gateway, iban, limit, cdc_topic, events_topic)
    finally:
        database.close()
    if as_json:
        render.print_json(found.to_json())
    else:
        render.print_all(render.trace_output(found))


@app.command()
@reports_errors
def reconcile(
    settle: Annotated[
        float,
        typer.Option(help="Seconds a mismatch may take to clear (changes still in flight)."),
    ] = 5.0,
    as_json: JsonFlag = False,
    balances_topic: Annotated[
        str, typer.Option(help="The latest-balance topic.")
    ] = topics.BALANCES,
    changes_topic: Annotated[
        str, typer.Option(help="The BalanceChanged topic.")
    ] = topics.BALANCE_CHANGED,
    bootstrap: Bootstrap = None,
    db_host: DbHost = None,
    db_port: DbPort = None,
    db_name: DbName = None,
    db_user: DbUser = None,
    timeout: Timeout = 5.0,
) -> None:
    """Does everything add up? Database balances against bank.balances and the events.

    Each account's balance in the database is compared with its state in bank.balances and with
    its BalanceChanged events: the old_balance of its first retained event plus the sum of the
    deltas (once per event_id; sequences must rise by one, each event starting where the
    previous ended). A mismatch gets --settle seconds to clear, for changes still in flight.
    Prints what persists; exits 1 when anything does.

    Example: `bankctl reconcile` or `bankctl reconcile --json --settle 10`
    """
    database = _database(db_host, db_port, db_name, db_user, timeout)
    kafka = Kafka(config.kafka_bootstrap(bootstrap), timeout)
    try:
        report = Reconciliation(database, kafka, balances_topic, changes_topic).run(settle)
    finally:
        database.close()
    if as_json:
        render.print_json(report.to_json())
    else:
        render.print_all(render.reconcile_output(report))
    if report.mismatches:
        raise typer.Exit(FINDINGS)
