"""How bankctl prints: rich tables for people, JSON for scripts.

People read amounts next to a currency code in major units (``12,176.01 EUR``); JSON keeps the
integer minor units of the events. A terminal narrower than ``WIDE`` columns gets one block per
record instead of a table whose columns would be a few characters wide.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from events.money import readable
from ops.connector import ConnectorStatus
from ops.database import LedgerRow
from ops.lag import ConnectorsLag, GatewayLag, GroupLag, SourceLag
from ops.reconcile import Report
from ops.records import AVRO, DEBEZIUM, TOMBSTONE, UNDECODABLE, Record
from ops.topics import TopicSummary
from ops.trace import AccountTrace, ChangeTrace

_OPS = {"c": "insert", "u": "update", "d": "delete", "r": "snapshot"}
# Columns of an account row that hold money in the row's own currency.
_ACCOUNT_MONEY = ("balance", "overdraft_limit", "low_balance_threshold")
# Below this many columns tables of records and traces turn into blocks, one per record.
WIDE = 120


def console(stderr: bool = False) -> Console:
    """A console on the current stdout (or stderr). Lines of text are never wrapped, and tables
    get a wide page when not on a terminal, so that piped output and grep see whole lines."""
    stream = sys.stderr if stderr else sys.stdout
    wide = not stream.isatty() and not os.environ.get("COLUMNS")
    return Console(file=stream, width=200 if wide else None, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def narrow(out: Console | None = None) -> bool:
    return (out or console()).width < WIDE


def print_all(items: Iterable[Table | str]) -> None:
    out = console()
    for item in items:
        out.print(item)


def print_jsonl(items: Iterable[Any]) -> None:
    for item in items:
        sys.stdout.write(json.dumps(item, default=str) + "\n")
    sys.stdout.flush()


def when(ms: int | None) -> str:
    """Epoch milliseconds as a UTC time with milliseconds."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def duration(ms: float | None) -> str:
    if ms is None:
        return "n/a"
    sign, ms = ("-" if ms < 0 else ""), abs(ms)
    if ms < 1000:
        return f"{sign}{ms:.0f} ms"
    if ms < 120_000:
        return f"{sign}{ms / 1000:.1f} s"
    if ms < 7_200_000:
        return f"{sign}{ms / 60_000:.0f} min"
    if ms < 172_800_000:
        return f"{sign}{ms / 3_600_000:.0f} h"
    return f"{sign}{ms / 86_400_000:.0f} d"


def retention(ms: int | None) -> str:
    # Kafka's "keep forever" is -1; Debezium asks for Long.MAX_VALUE.
    return "forever" if ms is None or ms >= 2**62 else duration(ms)


# --- topics ------------------------------------------------------------------------------------


def topics_table(topics: list[TopicSummary]) -> Table:
    # A narrow terminal gets short headings and light borders, so no topic name is cut short.
    short = narrow()
    table = Table(title=f"{len(topics)} topics", box=box.SIMPLE_HEAD if short else box.HEAVY_HEAD)
    names = (
        ("topic", "parts", "repl", "isr", "cleanup", "kept", "messages")
        if short
        else (
            "topic",
            "partitions",
            "replication",
            "in sync (min)",
            "cleanup",
            "retention",
            "messages",
        )
    )
    for name in names:
        table.add_column(
            name,
            justify="left" if name in ("topic", "cleanup") else "right",
            overflow="fold",
            no_wrap=name != "topic",
        )
    for t in topics:
        compacted = "compact" in t.cleanup_policy
        table.add_row(
            escape(t.name),
            str(t.partitions),
            str(t.replication),
            in_sync(t),
            t.cleanup_policy,
            "-" if compacted and "delete" not in t.cleanup_policy else retention(t.retention_ms),
            f"{'≤ ' if compacted else ''}{t.messages:,}",
        )
    return table


def in_sync(topic: TopicSummary) -> str:
    """The fewest in-sync copies of a partition and the least a write needs: "3 (2)"; red when
    a partition has fewer than the minimum (writes to it are refused), yellow when one is short."""
    text = f"{topic.in_sync} ({topic.min_insync if topic.min_insync is not None else '?'})"
    if topic.min_insync is not None and topic.in_sync < topic.min_insync:
        return f"[red]{text}[/]"
    if topic.under_replicated:
        return f"[yellow]{text}, {topic.under_replicated} short[/]"
    return text


# --- records -----------------------------------------------------------------------------------


class Output(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


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


# --- lag ---------------------------------------------------------------------------------------


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


# --- connectors --------------------------------------------------------------------------------


def connectors_table(statuses: list[ConnectorStatus]) -> Table:
    table = Table(title=f"{len(statuses)} connector(s)", show_lines=True)
    for name in ("connector", "type", "state", "task", "task state", "worker"):
        table.add_column(name)
    for s in statuses:
        style = "red" if s.failed else "green" if s.state == "RUNNING" else "yellow"
        tasks = s.tasks or [None]
        for i, task in enumerate(tasks):
            table.add_row(
                escape(s.name) if i == 0 else "",
                (s.type or "?") if i == 0 else "",
                f"[{style}]{s.state}[/]" if i == 0 else "",
                "-" if task is None else str(task.id),
                "no tasks" if task is None else _state(task.state),
                escape((task.worker if task else s.worker) or "-"),
            )
    return table


def _state(state: str) -> str:
    style = {"RUNNING": "green", "FAILED": "red"}.get(state, "yellow")
    return f"[{style}]{state}[/]"


def failure_traces(statuses: list[ConnectorStatus], full: bool) -> list[str]:
    out = []
    for s in statuses:
        failed = [(f"connector {s.name}", s.trace)] if s.state == "FAILED" else []
        failed += [(f"task {s.name}/{t.id}", t.trace) for t in s.tasks if t.state == "FAILED"]
        for what, trace in failed:
            out.append(f"[bold red]{escape(what)} FAILED[/]\n{escape(trimmed_trace(trace, full))}")
    return out


def trimmed_trace(trace: str | None, full: bool, lines: int = 12) -> str:
    """The head of a Java stack trace and every 'Caused by' line: where the real error is."""
    if not trace:
        return "(no trace)"
    all_lines = trace.rstrip().splitlines()
    if full or len(all_lines) <= lines:
        return "\n".join(all_lines)
    causes = [line for line in all_lines[lines:] if line.startswith("Caused by")]
    rest = len(all_lines) - lines - len(causes)
    return "\n".join(
        [*all_lines[:lines], f"\t… {rest} more lines (--full-trace shows them)", *causes]
    )


# --- trace -------------------------------------------------------------------------------------


def trace_table(account_trace: AccountTrace) -> Table:
    a = account_trace.account
    table = Table(
        title=_trace_title(account_trace),
        show_lines=True,
    )
    table.add_column("ledger row (database)")
    table.add_column(f"CDC record ({escape(account_trace.cdc_topic)})")
    table.add_column(f"derived event ({escape(account_trace.events_topic)})")
    table.add_column(f"gateway fan-out ({escape(account_trace.gateway_url)})")
    table.add_column("total", justify="right")
    for change in account_trace.changes:
        table.add_row(
            _ledger_cell(change.entry, a.currency),
            _cdc_cell(change),
            _derived_cell(change),
            _gateway_cell(change),
            duration(change.total),
        )
    return table


def _trace_title(account_trace: AccountTrace) -> str:
    a = account_trace.account
    return (
        f"{a.iban} (account {a.id}, {a.status}): balance {readable(a.balance, a.currency)}, "
        f"last {len(account_trace.changes)} change(s)"
    )


def trace_blocks(account_trace: AccountTrace) -> list[Table | str]:
    """The trace for a narrow terminal: one two-column table per change, hop by hop."""
    out: list[Table | str] = [f"[bold]{escape(_trace_title(account_trace))}[/]"]
    for change in account_trace.changes:
        table = Table(show_header=False, show_lines=True)
        table.add_column("hop", no_wrap=True)
        table.add_column("what")
        table.add_row("ledger row", _ledger_cell(change.entry, account_trace.account.currency))
        table.add_row(f"CDC record\n{escape(account_trace.cdc_topic)}", _cdc_cell(change))
        table.add_row(f"derived event\n{escape(account_trace.events_topic)}", _derived_cell(change))
        table.add_row("gateway fan-out", _gateway_cell(change))
        table.add_row("total", duration(change.total))
        out.append(table)
    return out


def trace_output(account_trace: AccountTrace) -> list[Table | str]:
    out: list[Table | str] = (
        trace_blocks(account_trace) if narrow() else [trace_table(account_trace)]
    )
    if account_trace.gateway_problem:
        out.append(f"gateway fan-out: n/a, {escape(account_trace.gateway_problem)}")
    return out


def _ledger_cell(entry: LedgerRow, currency: str) -> str:
    by = f" by {entry.clerk}" if entry.clerk else ""
    return escape(
        f"#{entry.id} {entry.kind} {readable(entry.amount, currency, signed=True)} → "
        f"{readable(entry.balance_after, currency)}{by}\n"
        f"{entry.reason[:60]!r}\nbooked {when(entry.created_at)}"
    )


def _cdc_cell(change: ChangeTrace) -> str:
    cdc = change.cdc
    if cdc is None:
        return "[yellow]not found[/] (not captured yet, or older than the topic's retention)"
    return (
        escape(
            f"{cdc.partition}@{cdc.offset} gtid {cdc.gtid or '-'}\n"
            f"committed {when(cdc.committed_at)} (binlog, whole s)\n"
            f"captured {when(cdc.captured_at)}"
        )
        + f"\n[bold]+{duration(change.capture_delay)}[/]"
    )


def _derived_cell(change: ChangeTrace) -> str:
    derived = change.derived
    if derived is None:
        return "[yellow]not found[/] (not derived yet: `bankctl lag` shows the worker's lag)"
    return (
        escape(
            f"{derived.partition}@{derived.offset} seq {derived.sequence} "
            f"(ledger {derived.ledger_match})\nderived {when(derived.derived_at)}"
        )
        + f"\n[bold]+{duration(change.derive_delay)}[/]"
    )


def _gateway_cell(change: ChangeTrace) -> str:
    fan_out = change.gateway
    if fan_out is None:
        if change.derived is None:
            return "n/a"
        return f"[yellow]n/a[/] ({escape(change.gateway_note or '')})"
    watchers = f"{fan_out.watchers} watcher{'' if fan_out.watchers == 1 else 's'}"
    if fan_out.at_start:
        lines = f"read back at the gateway's start {when(fan_out.fanned_out_at)}\n(not sent live)"
    else:
        lines = f"fanned out {when(fan_out.fanned_out_at)}\nto {watchers}"
    return escape(lines) + f"\n[bold]+{duration(change.send_delay)}[/]"


# --- reconcile ---------------------------------------------------------------------------------


def reconcile_output(report: Report) -> list[Table | str]:
    out: list[Table | str] = []
    if report.mismatches:
        table = Table(
            title=f"{len(report.mismatches)} mismatch(es) (amounts in minor units)",
            show_lines=True,
        )
        for name in ("IBAN", "account", "database", report.balances_topic, "events", "problem"):
            table.add_column(escape(name), justify="right" if name != "problem" else "left")
        for m in report.mismatches:
            table.add_row(
                escape(m.iban),
                _or_dash(m.account_id),
                _or_dash(m.database),
                _or_dash(m.balances_topic),
                _or_dash(m.events),
                escape("\n".join(m.problems)),
            )
        out.append(table)
    verdict = "[bold red]MISMATCH[/]" if report.mismatches else "[bold green]OK[/]"
    out.append(
        f"{verdict}: {report.accounts} account(s) in the database, {report.with_events} with "
        f"events in {escape(report.changes_topic)}, {len(report.mismatches)} mismatch(es)"
        + (f" after {report.rechecks} recheck(s)" if report.rechecks else "")
    )
    if report.duplicates:
        out.append(f"{report.duplicates} replayed event(s) (same event_id) counted once")
    if report.skipped:
        shown = "\n  ".join(escape(u) for u in report.skipped[:5])
        more = len(report.skipped) - 5
        out.append(
            f"[yellow]{len(report.skipped)} record(s) skipped, undecodable or of another "
            f"type:[/]\n  {shown}" + (f"\n  … {more} more" if more > 0 else "")
        )
    return out


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)
