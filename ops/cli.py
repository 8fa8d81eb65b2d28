"""`bankctl`: the commands, in the order `--help` lists them. Each lives in ops/commands/ with
its options and its output; the work is done elsewhere in ops/."""

from __future__ import annotations

import typer

from ops.commands import connector, consume, lag, reconcile, topics, trace

app = typer.Typer(
    name="bankctl",
    help="The live bank's ops console: topics, records, lag, connectors, one account's trail, "
    "and whether everything adds up. Exit codes: 0 all good, 1 something is wrong (a failed "
    "connector, a mismatch), 2 a usage error, 3 a service cannot be reached or a name is unknown.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
app.command("topics")(topics.list_topics)
app.command("consume")(consume.consume)
app.command("lag")(lag.lag)

connector_app = typer.Typer(
    help="Kafka Connect's connectors: status, restart, pause, resume.", no_args_is_help=True
)
connector_app.command("status")(connector.connector_status)
connector_app.command("restart")(connector.connector_restart)
connector_app.command("pause")(connector.connector_pause)
connector_app.command("resume")(connector.connector_resume)
app.add_typer(connector_app, name="connector")

app.command("trace")(trace.trace_account)
app.command("reconcile")(reconcile.reconcile)
