"""`bankctl trace`: one account's latest changes hop by hop."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from events import topics
from events.money import readable
from ops import config, render
from ops.commands import options
from ops.database import LedgerRow
from ops.gateway import Gateway
from ops.kafka import Kafka
from ops.render import duration, narrow, when
from ops.trace import AccountTrace, ChangeTrace, trace


@options.reports_errors
def trace_account(
    iban: Annotated[str, typer.Argument(help="The account's IBAN (spaces allowed).")],
    limit: Annotated[int, typer.Option(min=1, help="How many of its latest changes.")] = 5,
    as_json: options.JsonFlag = False,
    cdc_topic: Annotated[
        str, typer.Option(help="The CDC topic of accounts and ledger entries.")
    ] = topics.CDC_MONEY,
    events_topic: Annotated[
        str, typer.Option(help="The BalanceChanged topic.")
    ] = topics.BALANCE_CHANGED,
    bootstrap: options.Bootstrap = None,
    gateway_url: options.GatewayUrl = None,
    db_host: options.DbHost = None,
    db_port: options.DbPort = None,
    db_name: options.DbName = None,
    db_user: options.DbUser = None,
    timeout: options.Timeout = 5.0,
) -> None:
    """One account's latest changes hop by hop, with the delay of each hop.

    For each ledger row in the database: its CDC record (offset, commit and capture time), the
    derived BalanceChanged (offset, derive time) and when the gateway fanned it out to how many
    watchers. A hop not reached yet says so; the gateway hop says n/a when the gateway cannot
    be asked or no longer remembers the event.

    Example: `bankctl trace 'NL58 LIVE 0000 0000 01' --limit 3`
    """
    database = options.open_database(db_host, db_port, db_name, db_user, timeout)
    kafka = Kafka(config.kafka_bootstrap(bootstrap), timeout)
    gateway = Gateway(config.gateway_url(gateway_url), timeout)
    try:
        found = trace(database, kafka, gateway, iban, limit, cdc_topic, events_topic)
    finally:
        database.close()
    if as_json:
        render.print_json(found.to_json())
    else:
        render.print_all(trace_output(found))


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
