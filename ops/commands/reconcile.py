"""`bankctl reconcile`: do the database, bank.balances and the events add up?"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from events import topics
from ops import config, render
from ops.commands import options
from ops.errors import FINDINGS
from ops.kafka import Kafka
from ops.reconcile import Reconciliation, Report


@options.reports_errors
def reconcile(
    settle: Annotated[
        float,
        typer.Option(help="Seconds a mismatch may take to clear (changes still in flight)."),
    ] = 5.0,
    as_json: options.JsonFlag = False,
    balances_topic: Annotated[
        str, typer.Option(help="The latest-balance topic.")
    ] = topics.BALANCES,
    changes_topic: Annotated[
        str, typer.Option(help="The BalanceChanged topic.")
    ] = topics.BALANCE_CHANGED,
    bootstrap: options.Bootstrap = None,
    db_host: options.DbHost = None,
    db_port: options.DbPort = None,
    db_name: options.DbName = None,
    db_user: options.DbUser = None,
    timeout: options.Timeout = 5.0,
) -> None:
    """Does everything add up? Database balances against bank.balances and the events.

    Each account's balance in the database is compared with its state in bank.balances and with
    its BalanceChanged events: the old_balance of its first retained event plus the sum of the
    deltas (once per event_id; sequences must rise by one, each event starting where the
    previous ended). A mismatch gets --settle seconds to clear, for changes still in flight.
    Prints what persists; exits 1 when anything does.

    Example: `bankctl reconcile` or `bankctl reconcile --json --settle 10`
    """
    database = options.open_database(db_host, db_port, db_name, db_user, timeout)
    kafka = Kafka(config.kafka_bootstrap(bootstrap), timeout)
    try:
        report = Reconciliation(database, kafka, balances_topic, changes_topic).run(settle)
    finally:
        database.close()
    if as_json:
        render.print_json(report.to_json())
    else:
        render.print_all(reconcile_output(report))
    if report.mismatches:
        raise typer.Exit(FINDINGS)


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
