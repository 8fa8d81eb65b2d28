"""`python -m stack`: install, start, inspect and stop the local stack (what `make` calls)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import typer
from rich.console import Console
from rich.table import Table

from stack import install, kafka_client, status
from stack.settings import REPO_ROOT, ConfigurationError, settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()

START_TIMEOUT_SECONDS = 900


def _print_where_to_go() -> None:
    from stack.settings import env

    config = settings()
    console.print("\n[bold green]The bank is running.[/]")
    console.print(f"  Clerk (Django admin)   {config.sor_url}/admin/")
    console.print(
        f"      login              {env('DJANGO_SUPERUSER_USERNAME')} / "
        f"{env('DJANGO_SUPERUSER_PASSWORD')}"
    )
    console.print(f"  REST API               {config.sor_url}/api/")
    console.print(f"  Customer dashboard     {config.soe_url}/")
    console.print(f"      login              demo / {env('BANK_DEMO_PASSWORD')}")
    console.print(f"  Kafka                  {config.kafka_bootstrap}")
    console.print(f"  Kafka Connect          {config.connect_url}/connectors")
    console.print(f"  Logs                   make logs   ({config.path('logs')})")
    if os.environ.get("BANK_ENV", "local") == "local":
        console.print(
            "  [dim]These logins are local-only defaults; set the variables to change.[/]"
        )


@app.command()
def install_deps() -> None:
    """Resolve the Kafka, Connect and Debezium jars with Maven (skipped when unchanged)."""
    install.install_jars(settings())


@app.command()
def up() -> None:
    """Install what is missing, start every process in order and wait until all are ready."""
    config = settings()
    try:
        kafka_client.check_for_the_local_broker()
    except ConfigurationError as error:
        console.print(f"[bold red]Not starting:[/] {error}")
        raise typer.Exit(2) from None
    current = status.read(config)
    if status.supervisor_alive(current):
        console.print(
            f"The stack is already {current['phase']} (supervisor pid "
            f"{current['supervisor_pid']}); nothing to do. `make status` shows it."
        )
        if current["phase"] == "ready":
            _print_where_to_go()
        return
    install.install_jars(config)
    for folder in ("logs", "run", "data"):
        config.path(folder).mkdir(parents=True, exist_ok=True)
    status.status_file(config).unlink(missing_ok=True)
    with open(config.path("logs", "supervisor.log"), "a") as log_file:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "stack.supervisor"],
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
    _print_where_to_go()


@app.command()
def down() -> None:
    """Stop every process cleanly, in reverse order; data is kept."""
    config = settings()
    current = status.read(config)
    if status.supervisor_alive(current):
        pid = current["supervisor_pid"]
        os.kill(pid, signal.SIGTERM)
        with console.status("stopping the stack"):
            try:
                psutil.Process(pid).wait(timeout=120)
            except psutil.TimeoutExpired:
                console.print("[yellow]the supervisor did not stop in 120s; killing it[/]")
                psutil.Process(pid).kill()
    _kill_orphans(current)
    console.print("The stack is stopped; data is kept in " + str(config.state_dir))


def _kill_orphans(current: dict | None) -> None:
    """Processes left behind by a supervisor that was killed itself."""
    for component in (current or {}).get("components", {}).values():
        pid = component.get("pid")
        if not pid:
            continue
        try:
            process = psutil.Process(pid)
            console.print(f"stopping orphaned {component['name']} (pid {pid})")
            process.terminate()
            process.wait(timeout=30)
        except psutil.NoSuchProcess:
            continue
        except psutil.TimeoutExpired:
            process.kill()


@app.command("status")
def show_status() -> None:
    """Show each component: state, pid, ports, restarts."""
    config = settings()
    current = status.read(config)
    if not current:
        console.print("The stack has not been started (`make up`).")
        raise typer.Exit(3)
    alive = status.supervisor_alive(current)
    phase = current["phase"] if alive else "stopped"
    table = Table(title=f"stack: {phase}" + (f" — {current['error']}" if current["error"] else ""))
    for column in ("component", "state", "pid", "ports", "restarts", "log"):
        table.add_column(column)
    for component in current["components"].values():
        state = component["state"] if alive else "stopped"
        ports = ", ".join(f"{k} {v}" for k, v in component["ports"].items())
        table.add_row(
            component["name"],
            state,
            str(component["pid"] or ""),
            ports,
            str(component["restarts"]),
            component["log"],
        )
    console.print(table)
    if phase != "ready":
        raise typer.Exit(3)


@app.command()
def logs(component: str = typer.Argument(None, help="e.g. kafka, connect, sor, soi, soe")) -> None:
    """Follow the logs of every component (or one)."""
    folder = settings().path("logs")
    files = (
        [str(folder / f"{component}.log")]
        if component
        else sorted(str(p) for p in folder.glob("*.log"))
    )
    os.execvp("tail", ["tail", "-n", "20", "-F", *files])


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
