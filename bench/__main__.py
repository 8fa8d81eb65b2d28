"""Benchmarks of the live bank against the running stack: `python -m bench [SCENARIO ...]`.

Scenarios (all of them, in this order, when none is named):
  latency     10 changes/s for 60 s: commit-to-receipt p50/p95/p99 and per hop
  sustained   rate steps (100 … 2,000 changes/s, 60 s each): p99 and whether the worker kept up
  fanout      1,000 / 5,000 / 10,000 / 20,000 websocket clients on one gateway, broadcast and
              spread, while changes flow (bench/fanout.py)
  compare     polling the REST API and a consumer-per-connection gateway against ours, 100/500
  footprint   memory and CPU of every component, idle and at the highest sustained rate
  derivation  events per second one Faust worker derives, and the delay it adds

Each scenario writes bench/results/<time>-<scenario>.json (every figure, the settings, the
machine), a Markdown summary and PNG plots. `--quick` runs short steps, to prove it works.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from bench import load, report
from bench.clerk import api_token
from bench.scenarios import SCENARIOS, Context
from kernel.settings import settings

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)
# Wide tables also when the output goes to a file or a CI log (rich assumes 80 columns there).
console = Console() if sys.stdout.isatty() else Console(width=160)

FULL_RATES = "100,250,500,1000,2000"
FULL_FANOUT = "1000,5000,10000,20000"
SHAPES = ("broadcast", "spread")


def _numbers(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def _settings(text: str | None) -> dict[str, str]:
    """NAME=value,NAME=value: settings of the fan-out benchmark's gateway."""
    pairs = [part.strip() for part in (text or "").split(",") if part.strip()]
    settings = dict(pair.partition("=")[::2] for pair in pairs)
    if any(not name.startswith("BANK_") or not value for name, value in settings.items()):
        raise typer.BadParameter("--gateway-env takes BANK_NAME=value pairs, comma separated")
    return settings


@app.command()
def main(
    scenarios: Annotated[
        list[str] | None, typer.Argument(help=f"any of {', '.join(SCENARIOS)}; default all")
    ] = None,
    quick: Annotated[bool, typer.Option(help="short steps and small counts")] = False,
    accounts: Annotated[int, typer.Option(help="accounts of the bench customer to use")] = 1000,
    rates: Annotated[str | None, typer.Option(help=f"sustained steps [{FULL_RATES}]")] = None,
    step_seconds: Annotated[
        float | None, typer.Option(help="seconds per sustained step [60; 10 quick]")
    ] = None,
    fanout: Annotated[
        str | None, typer.Option(help=f"fan-out client counts [{FULL_FANOUT}; 1000 quick]")
    ] = None,
    shapes: Annotated[
        str, typer.Option(help="fan-out shapes: broadcast, spread or both")
    ] = ",".join(SHAPES),
    client_processes: Annotated[
        int, typer.Option(help="fan-out: processes the websocket clients run in")
    ] = 4,
    gateway_env: Annotated[
        str | None,
        typer.Option(help="fan-out: settings of the benchmark's gateway, NAME=value,NAME=value"),
    ] = None,
    profile_gateway: Annotated[
        bool,
        typer.Option(
            help="fan-out: sample the gateway with py-spy in each booking window "
            "(.bank/logs/bench-fanout-gateway-SHAPE-COUNT.pyspy.txt)"
        ),
    ] = False,
    rate: Annotated[
        float | None, typer.Option(help="footprint's load rate [the highest sustained]")
    ] = None,
    via: Annotated[
        str, typer.Option(help="book through the 'service' layer, the 'api' or 'sql'")
    ] = "sql",
    burst: Annotated[
        int | None,
        typer.Option(help="derivation: changes booked in the live burst [20,000; 2,000 quick]"),
    ] = None,
    replay_workers: Annotated[
        int, typer.Option(help="derivation: workers replaying the backlog together")
    ] = 1,
    replay_events: Annotated[
        int | None, typer.Option(help="derivation: events to replay [20,000; 5,000 quick]")
    ] = None,
    processes: Annotated[int, typer.Option(help="load generator processes")] = 2,
    threads: Annotated[int, typer.Option(help="threads per load generator process")] = 4,
) -> None:
    names = scenarios or list(SCENARIOS)
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        raise typer.BadParameter(f"unknown scenario {unknown}; choose from {list(SCENARIOS)}")
    if via not in ("service", "api", "sql"):
        raise typer.BadParameter("--via is 'service', 'api' or 'sql'")
    fanout_shapes = [shape.strip() for shape in shapes.split(",") if shape.strip()]
    if not fanout_shapes or set(fanout_shapes) - set(SHAPES):
        raise typer.BadParameter(f"--shapes is any of {', '.join(SHAPES)}")
    config = settings()
    with console.status("opening the benchmark's accounts (once) and signing in"):
        bench_accounts = load.bench_accounts(accounts)
        for chatty in ("httpx", "matplotlib", "aiokafka"):  # Django's set-up logs at INFO
            logging.getLogger(chatty).setLevel(logging.WARNING)
        token = api_token(config)
    facts = report.machine()
    run_settings = {
        "command": shlex.join(["python", "-m", "bench", *sys.argv[1:]]),
        "quick": quick,
    }
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        ctx = Context(
            config=config,
            accounts=bench_accounts,
            quick=quick,
            progress=progress,
            via=via,
            processes=processes,
            threads=threads,
            api_token=token,
            rates=_numbers(rates or ("100,250,500,1000,2000")),
            step_seconds=step_seconds or (10.0 if quick else 60.0),
            fanout=[int(n) for n in _numbers(fanout or ("1000" if quick else FULL_FANOUT))],
            fanout_shapes=fanout_shapes,
            client_processes=client_processes,
            gateway_env=_settings(gateway_env),
            profile_gateway=profile_gateway,
            footprint_rate=rate,
            replay_workers=replay_workers,
            replay_events=replay_events,
            derivation_burst=burst,
        )
        overall = progress.add_task("scenarios", total=len(names))
        for name in names:
            progress.update(overall, description=f"scenario {name}")
            outcome = asyncio.run(SCENARIOS[name](ctx))
            paths = report.write(outcome, run_settings, facts)
            progress.console.print()
            report.show(outcome, progress.console)
            progress.console.print(f"[dim]written: {', '.join(str(p) for p in paths)}[/]")
            progress.advance(overall)


if __name__ == "__main__":
    app()
