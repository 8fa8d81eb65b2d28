"""`bankctl consume`: decoded records of any topic, as a table, JSON or JSON lines."""

from __future__ import annotations

import json
import textwrap
from enum import Enum
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from events import topics
from events.money import readable
from ops import config
from ops.commands import options
from ops.consume import Selection, end_offsets, follow, history, parse_since
from ops.interrupt import stop_requested
from ops.kafka import Kafka
from ops.records import AVRO, DEBEZIUM, TOMBSTONE, UNDECODABLE, Record, looks_like_iban
from ops.render import console, narrow, print_json, print_jsonl, when

_OPS = {"c": "insert", "u": "update", "d": "delete", "r": "snapshot"}
# Columns of an account row that hold money in the row's own currency.
_ACCOUNT_MONEY = ("balance", "overdraft_limit", "low_balance_threshold")


class Output(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


@options.reports_errors
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
        Output, typer.Option("--output", "-o", help="table, json (pretty) or jsonl.")
    ] = Output.table,
    bootstrap: options.Bootstrap = None,
    db_host: options.DbHost = None,
    db_port: options.DbPort = None,
    db_name: options.DbName = None,
    db_user: options.DbUser = None,
    timeout: options.Timeout = 5.0,
) -> None:
    """Decoded records of any topic, oldest first.

    Debezium envelopes show as before → after with the operation and binlog position, Avro
    events are decoded with the repo's schemas, undecodable records are marked as such with
    their offset. Reads up to the end offsets taken at start, then stops, or with --follow
    goes on printing new records until Ctrl-C; --from-end prints only new ones.

    Example: `bankctl consume bank.balance-changed --key NL58LIVE0000000001 --limit 5`
    """
    if key and topic == topics.CDC_MONEY and looks_like_iban(key):
        database = options.open_database(db_host, db_port, db_name, db_user, timeout)
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
        records(past, output, title=f"{topic}: {len(past)} records")
    if follow_new or from_end:
        # On stderr, so piped records stay clean: from here on, every new record is printed.
        console(stderr=True).print(f"following {escape(topic)}; Ctrl-C stops", style="dim")
        with stop_requested() as stop:
            for record in follow(kafka, selection, ends, stop):
                records([record], output)


def records(items: list[Record], output: Output, title: str | None = None) -> None:
    """History (with a title) as one table; followed records (no title) as header-less rows."""
    if output is Output.jsonl:
        print_jsonl(r.to_json() for r in items)
    elif output is Output.json:
        for r in items:
            print_json(r.to_json())
    elif narrow():
        out = console()
        if title:
            out.print(f"[bold]{escape(title)}[/]")
        for record in items:
            out.print(record_block(record, out.width))
    elif items or title:
        console().print(records_table(items, title, header=title is not None))


def record_block(record: Record, width: int) -> str:
    """One record for a narrow terminal: a head line, then the record wrapped and indented."""
    position, time, key, what, _ = record_cells(record)
    body = "\n".join(
        escape(wrapped)
        for line in summary(record).splitlines()
        for wrapped in textwrap.wrap(
            line, width, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False
        )
    )
    return f"[bold]{position}[/] {time} {what} key {key}\n{body}"


def records_table(records: list[Record], title: str | None = None, header: bool = True) -> Table:
    table = Table(title=title, show_lines=True, show_header=header)
    table.add_column("partition@offset", no_wrap=True)
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("key", overflow="fold")
    table.add_column("what", no_wrap=True)
    table.add_column("record", overflow="fold")
    for record in records:
        table.add_row(*record_cells(record))
    return table


def record_cells(record: Record) -> tuple[str, str, str, str, str]:
    style = "red" if record.format == UNDECODABLE else ""
    what = describe_kind(record)
    return (
        f"{record.partition}@{record.offset}",
        when(record.timestamp),
        escape(record.key or "-"),
        f"[{style}]{escape(what)}[/]" if style else escape(what),
        escape(summary(record)),
    )


def describe_kind(record: Record) -> str:
    if record.format == DEBEZIUM:
        return f"{_OPS.get(record.value.get('op'), '?')} {record.type or ''}".strip()
    if record.format == AVRO:
        return f"{record.type} v{record.version}"
    return record.format


def summary(record: Record) -> str:
    if record.format == DEBEZIUM:
        return _debezium_summary(record.value)
    if record.format == AVRO:
        return _event_summary(record.type or "", record.value)
    if record.format == TOMBSTONE:
        return "null value (deleted)"
    if record.format == UNDECODABLE:
        return f"{record.error}; {record.value['bytes']} bytes: {record.value['hex']}"
    return json.dumps(record.value, default=str)


def _fields(row: dict[str, Any] | None) -> str:
    row = row or {}
    return ", ".join(f"{k}={_column(k, v, row)}" for k, v in row.items())


def _column(name: str, value: Any, row: dict[str, Any]) -> str:
    """A column of a captured row as a person reads it: times as times, an account's money in
    its currency. A ledger entry's row has no currency, so its amounts stay minor units."""
    if isinstance(value, int) and not isinstance(value, bool):
        if name.endswith("_at"):
            return when(value)
        if name in _ACCOUNT_MONEY and isinstance(row.get("currency"), str):
            return readable(value, row["currency"])
    return str(value)


def _minor_note(row: dict[str, Any] | None) -> str:
    row = row or {}
    return " (amounts in minor units)" if "amount" in row and "currency" not in row else ""


def _debezium_summary(envelope: dict[str, Any]) -> str:
    before, after, op = envelope.get("before"), envelope.get("after"), envelope.get("op")
    if op == "u" and before and after:
        changed = [k for k in after if before.get(k) != after.get(k)]
        change = "; ".join(
            f"{k}: {_column(k, before.get(k), before)} → {_column(k, after[k], after)}"
            for k in changed
        )
        row = f"id={after.get('id')} {change or 'no column changed'}{_minor_note(after)}"
    elif op == "d":
        row = f"{_fields(before)} → (deleted){_minor_note(before)}"
    else:
        row = f"{_fields(after)}{_minor_note(after)}"
    source = envelope.get("source") or {}
    position = f"{source.get('file')}:{source.get('pos')}#{source.get('row', 0)}"
    gtid = f" gtid {source['gtid']}" if source.get("gtid") else ""
    return f"{row}\n@ {position}{gtid}, committed {when(source.get('ts_ms'))}"


def _event_summary(event_type: str, v: dict[str, Any]) -> str:
    if event_type == "balance_changed":
        why = " ".join(
            part for part in (v.get("kind"), repr(v["reason"]) if v.get("reason") else None) if part
        )
        by = f" by {v['clerk']}" if v.get("clerk") else ""
        currency = v["currency"]
        return (
            f"{v['iban']} {readable(v['old_balance'], currency)} → "
            f"{readable(v['new_balance'], currency)} "
            f"({readable(v['delta'], currency, signed=True)}) seq {v['sequence']} {why}{by}\n"
            f"id {v['event_id']}, committed {when(v['committed_at'])}, "
            f"derived {when(v['derived_at'])}"
        )
    if event_type == "account_balance":
        return (
            f"{v['iban']} {readable(v['balance'], v['currency'])} {v['status']} "
            f"seq {v['sequence']}, "
            f"as of {when(v['updated_at'])}"
        )
    if event_type == "alert":
        return (
            f"{v['kind']} {v['iban']} balance {readable(v['balance'], v['currency'])}: "
            f"{v['message']}"
        )
    if event_type == "dead_letter":
        return f"from {v['topic']}[{v['partition']}]@{v['offset']}: {v['reason']}"
    return _fields(v)
