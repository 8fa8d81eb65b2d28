"""`bankctl connector status|restart|pause|resume`: Kafka Connect's connectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kernel.connector import load_connector
from ops import config, render
from ops.commands import options
from ops.connector import Connect, ConnectorStatus, paused, resumed, running
from ops.errors import FINDINGS

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
        render.print_all([connectors_table(statuses), *failure_traces(statuses, full_trace)])
    if not statuses or any(s.failed for s in statuses):
        raise typer.Exit(FINDINGS)


@options.reports_errors
def connector_status(
    name: Annotated[
        str | None,
        typer.Argument(help="Connector name. Default: every connector.", show_default=False),
    ] = None,
    full_trace: Annotated[
        bool, typer.Option("--full-trace", help="The whole stack trace of a failed task.")
    ] = False,
    as_json: options.JsonFlag = False,
    connect_url: options.ConnectUrl = None,
    timeout: options.Timeout = 5.0,
) -> None:
    """Connectors and their tasks' states, with the error trace of any that FAILED.

    Exits 1 when one has failed (or none is registered).

    Example: `bankctl connector status` or `bankctl connector status bank-sor --json`
    """
    connect = Connect(config.connect_url(connect_url), timeout)
    names = [name] if name else connect.names()
    _show_connectors([connect.status(n) for n in names], as_json, full_trace)


@options.reports_errors
def connector_restart(
    name: ConnectorName = None,
    only_failed: Annotated[
        bool, typer.Option("--only-failed", help="Restart only the connector or tasks that failed.")
    ] = False,
    wait: Wait = 30.0,
    stable: Annotated[
        float, typer.Option(help="Seconds it must keep running to count as restarted.")
    ] = 3.0,
    connect_url: options.ConnectUrl = None,
    timeout: options.Timeout = 5.0,
) -> None:
    """Restart a connector and its tasks; show its status once it runs steadily or fails.

    Exits 1 when it fails again.

    Example: `bankctl connector restart bank-sor --only-failed`
    """
    connect, name = Connect(config.connect_url(connect_url), timeout), name or _bank_connector()
    connect.restart(name, only_failed)  # the status says RESTARTING from here on
    status = connect.watch(name, running, wait, stable=stable, stop_on_failure=True)
    _show_connectors([status], as_json=False)


@options.reports_errors
def connector_pause(
    name: ConnectorName = None,
    wait: Wait = 30.0,
    connect_url: options.ConnectUrl = None,
    timeout: options.Timeout = 5.0,
) -> None:
    """Pause a connector: it stops reading the binlog and keeps its position.

    Example: `bankctl connector pause bank-sor`
    """
    _change(name, Connect.pause, paused, wait, connect_url, timeout)


@options.reports_errors
def connector_resume(
    name: ConnectorName = None,
    wait: Wait = 30.0,
    connect_url: options.ConnectUrl = None,
    timeout: options.Timeout = 5.0,
) -> None:
    """Resume a paused connector from where it stopped.

    Example: `bankctl connector resume bank-sor`
    """
    _change(name, Connect.resume, resumed, wait, connect_url, timeout)


def _change(
    name: str | None,
    change: Callable[[Connect, str], None],
    reached: Callable[[ConnectorStatus], bool],
    wait: float,
    connect_url: str | None,
    timeout: float,
) -> None:
    """Asks Connect for the change, then shows the connector once it got there (or `wait` ran
    out)."""
    connect, name = Connect(config.connect_url(connect_url), timeout), name or _bank_connector()
    change(connect, name)
    _show_connectors([connect.watch(name, reached, wait)], as_json=False)


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
