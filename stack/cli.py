"""`python -m stack`: install, start, inspect and stop the local stack (what `make` calls)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from kernel import kafka_client
from kernel.settings import REPO_ROOT, ClerkLogin, ConfigurationError, DemoLogin, settings
from sor.bank.demo_accounts import demo_accounts_line
from stack import balancer, install, overview, pids, processes, status, topology

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()

START_TIMEOUT_SECONDS = 900


def _print_where_to_go(scope: str) -> None:
    config = settings()
    if scope == "database":
        console.print(
            f"\n[bold green]MariaDB is running[/] alone on {config.host}:{config.db_port}"
        )
        return
    clerk = ClerkLogin.load()
    console.print("\n[bold green]The bank is running.[/]")
    console.print(f"  Clerk (Django admin)   {config.sor_url}/admin/")
    console.print(f"      login              {clerk.username} / {clerk.password}")
    console.print(f"  REST API               {config.sor_url}/api/")
    console.print(f"  Customer dashboard     {config.soe_url}/")
    console.print(f"      login              demo / {DemoLogin.load().password}")
    console.print(f"      accounts           {demo_accounts_line()}", soft_wrap=True)
    console.print(f"  Kafka                  {config.kafka_bootstrap}", soft_wrap=True)
    for url in config.connect_worker_urls:
        console.print(f"  Kafka Connect          {url}/connectors")
    console.print(f"  Schema registry        {config.schema_registry_url}")
    console.print(f"  Logs                   make logs   ({config.path('logs')})")
    if config.topology != "single":
        console.print(Padding(overview.plan_line(config), (0, 0, 0, 2)))
        console.print("  Where each stage runs: make status; the drills: docs/cluster.md")
    if config.is_local:
        console.print(
            "  [dim]These logins are local-only defaults; set the variables to change.[/]"
        )


@app.command()
def install_deps() -> None:
    """Resolve the Kafka, Connect, Debezium and schema registry jars with Maven (skipped when
    unchanged)."""
    install.install_jars(settings())


@app.command()
def up(
    database_only: bool = typer.Option(
        False, "--database-only", help="only MariaDB, for the tests that need nothing else"
    ),
) -> None:
    """Install what is missing, start every process in order and wait until all are ready."""
    config = settings()
    if not database_only:
        try:
            kafka_client.check_for_the_local_broker()
        except ConfigurationError as error:
            console.print(f"[bold red]Not starting:[/] {error}")
            raise typer.Exit(2) from None
    current = status.read(config)
    if (
        status.supervisor_alive(current)
        and current.get("scope") == "database"
        and not database_only
    ):
        console.print("MariaDB runs alone (`up --database-only`); stopping it to start everything")
        down()
        current = status.read(config)
    if status.supervisor_alive(current):
        console.print(
            f"The stack is already {current['phase']} (supervisor pid "
            f"{current['supervisor_pid']}); nothing to do. `make status` shows it."
        )
        if current["phase"] == "ready":
            _print_where_to_go(current.get("scope", "all"))
        return
    try:
        topology.claim_state(config)
    except ConfigurationError as error:
        console.print(f"[bold red]Not starting:[/] {error}")
        raise typer.Exit(2) from None
    if not database_only:
        install.install_jars(config)
    for folder in ("logs", "run", "data"):
        config.path(folder).mkdir(parents=True, exist_ok=True)
    status.status_file(config).unlink(missing_ok=True)
    with open(config.path("logs", "supervisor.log"), "a") as log_file:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "stack.supervisor", *(["--database-only"] * database_only)],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = time.monotonic()
    shown_step = ""
    while True:
        current = status.read(config)
        if current and current["step"] != shown_step:
            shown_step = current["step"]
            console.print(f"[bold]==>[/] {shown_step}  [dim]({time.monotonic() - started:.0f}s)[/]")
        if current and current["phase"] == "ready":
            break
        if (current and current["phase"] == "failed") or supervisor.poll() is not None:
            error = (current or {}).get("error") or "the supervisor exited"
            console.print(f"[bold red]Start-up failed:[/] {error}")
            console.print(f"Logs: {config.path('logs')} (supervisor.log names the failing step)")
            raise typer.Exit(1)
        if time.monotonic() - started > START_TIMEOUT_SECONDS:
            console.print("[bold red]Start-up timed out[/]; stopping. See supervisor.log.")
            supervisor.terminate()
            raise typer.Exit(1)
        time.sleep(0.3)
    console.print(f"[dim]ready in {time.monotonic() - started:.0f}s[/]")
    _print_where_to_go("database" if database_only else "all")


@app.command()
def down() -> None:
    """Stop every process cleanly, in reverse order; data is kept."""
    config = settings()
    current = status.read(config)
    if status.supervisor_alive(current):
        pid, started = current["supervisor_pid"], status.supervisor_started(current)
        if pids.send(pid, started, signal.SIGTERM):
            with console.status("stopping the stack"):
                if not _ended(pid, started, timeout=120):
                    console.print("[yellow]the supervisor did not stop in 120s; killing it[/]")
                    pids.send(pid, started, signal.SIGKILL)
    _kill_orphans(current)
    console.print("The stack is stopped; data is kept in " + str(config.state_dir))


def _ended(pid: int, started: int | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pids.running(pid, started):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _kill_orphans(current: dict | None) -> None:
    """Processes left behind by a supervisor that was killed itself; a pid the kernel has given
    to another process since (its start time differs) is left alone."""
    for component in (current or {}).get("components", {}).values():
        pid, started = component.get("pid"), component.get("pid_started")
        if not pid or not pids.send(pid, started, signal.SIGTERM):
            continue
        console.print(f"stopping orphaned {component['name']} (pid {pid})")
        if not _ended(pid, started, timeout=30):
            pids.send(pid, started, signal.SIGKILL)


@app.command("status")
def show_status() -> None:
    """Show each component: state, pid, ports, restarts (when and why the last one was)."""
    config = settings()
    current = status.read(config)
    if not current:
        console.print("The stack has not been started (`make up`).")
        raise typer.Exit(3)
    alive = status.supervisor_alive(current)
    phase = current["phase"] if alive else "stopped"
    table = Table(title=f"stack: {phase}" + (f" — {current['error']}" if current["error"] else ""))
    for column in ("component", "state", "pid", "ports", "restarts"):
        table.add_column(column, justify="right" if column in ("pid", "restarts") else "left")
    for component in current["components"].values():
        state = component["state"] if alive else "stopped"
        ports = ", ".join(f"{k} {v}" for k, v in component["ports"].items())
        table.add_row(
            component["name"],
            state,
            str(component["pid"] or ""),
            ports,
            str(component["restarts"]),
        )
    console.print(table)
    # Wrapped to the terminal's width (80 columns when not a terminal), like the table.
    console.print(overview.plan_line(config))
    if phase == "ready":
        for line in overview.live_lines(config, current["components"].values()):
            console.print(Padding(escape(line), (0, 0, 0, 2)))
    if alive and "balancer" in current["components"]:
        console.print(balancer_line(balancer.server_states(processes.balancer_socket(config))))
    for line in restart_lines(current["components"].values()):
        console.print(line, soft_wrap=True)
    console.print(
        f"Logs: {_shown_path(config.path('logs'))}/<component>.log; "
        "`make logs C=<component>` follows one.",
        soft_wrap=True,
    )
    if phase != "ready":
        raise typer.Exit(3)


def balancer_line(states: dict[str, str]) -> str:
    """How the balancer sees each gateway: only those UP get clients."""
    if not states:
        return "balancer: its stats socket does not answer"
    return "balancer sends clients to: " + ", ".join(
        f"{name} {state}" for name, state in states.items()
    )


def restart_lines(components: Iterable[dict[str, Any]]) -> list[str]:
    """One line per component that was restarted: how often, when and why it last died."""
    lines = []
    for c in components:
        if not c["restarts"]:
            continue
        when = c.get("last_exit_at")
        at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when)) if when is not None else "?"
        why = c.get("last_exit") or "reason not recorded"
        lines.append(f"{c['name']} restarted {c['restarts']}x, last at {at} ({why})")
    return lines


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def log_names(folder: Path, current: dict[str, Any] | None) -> list[str]:
    """The components whose log `stack logs NAME` can follow."""
    names = {p.stem for p in folder.glob("*.log")}
    names.update((current or {}).get("components", {}))
    return sorted(names)


@app.command()
def logs(component: str = typer.Argument(None, help="e.g. kafka, connect, sor, soi, soe")) -> None:
    """Follow the logs of every component (or one) until Ctrl-C."""
    config = settings()
    folder = config.path("logs")
    known = log_names(folder, status.read(config))
    if component and component not in known:
        console.print(
            f"[bold red]error:[/] there is no log named {component!r}; the logs are: "
            + (", ".join(known) or f"none yet in {folder} (`make up` starts the stack)")
        )
        raise typer.Exit(2)
    files = [str(folder / f"{name}.log") for name in ([component] if component else known)]
    if not files:
        console.print(f"No logs yet in {folder}; `make up` starts the stack.")
        raise typer.Exit(3)
    follower = subprocess.Popen(["tail", "-n", "20", "-F", *files])
    try:
        follower.wait()
    except KeyboardInterrupt:
        # Ctrl-C is how one stops following: end quietly, so make reports no "Interrupt".
        follower.wait()


@app.command()
def wipe(yes: bool = typer.Option(False, "--yes", help="do not ask")) -> None:
    """Stop the stack and delete its data (the database, topics, logs); jars are kept."""
    config = settings()
    if not yes and not typer.confirm(f"Delete all data under {config.state_dir}?"):
        raise typer.Exit(1)
    down()
    for folder in ("data", "logs", "run", "config", "static", "keys"):
        shutil.rmtree(config.path(folder), ignore_errors=True)
    console.print("Data wiped; `make up` starts from scratch.")
