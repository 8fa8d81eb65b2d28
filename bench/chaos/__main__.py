"""`python -m bench.chaos` (`make chaos`): rounds of every fault against the running stack."""

from __future__ import annotations

import logging
import secrets
import sys
from typing import Annotated

import typer
from rich.console import Console

from bench.chaos import faults, report
from bench.chaos.drill import Plan, RoundResult, run_round
from kernel.settings import settings

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def drill(
    rounds: Annotated[int, typer.Option(help="Rounds of each fault.")] = 3,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="A fault to inject (repeatable): kill-<component> or freeze-<component>, "
            f"components {', '.join(faults.COMPONENTS)} (and soi-2 … with BANK_SOI_WORKERS, "
            "soe-2 … and balancer with BANK_SOE_GATEWAYS, kafka-2, kafka-3, connect-2 on a "
            "cluster); on a cluster also kill-broker, restart-brokers, freeze-broker (20 s) and "
            "kill-connect-task. Default: every kill, freeze-soi and freeze-soe, both for each "
            "further worker and gateway, kill-balancer, and on a cluster its four."
        ),
    ] = None,
    rate: Annotated[float, typer.Option(help="Deposits a second while the fault strikes.")] = 20,
    accounts: Annotated[int, typer.Option(help="Accounts the deposits go to.")] = 20,
) -> None:
    """Kill or freeze each component while clerks book and customers watch; then check that
    every booked change was derived exactly once and every watcher shows the truth."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    console = Console()
    if not console.is_terminal:
        console = Console(width=132)
    try:
        chosen = [faults.parse(name) for name in fault] if fault else faults.every_fault(settings())
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    plan = Plan(accounts=accounts, rate=rate)
    run_id = secrets.token_hex(3)
    config = settings()
    results: list[RoundResult] = []
    try:
        for chosen_fault in chosen:
            for number in range(1, rounds + 1):
                result = run_round(config, chosen_fault, plan, number, run_id)
                verdict = "ok" if result.ok else f"{len(result.problems)} problems"
                console.print(
                    f"{result.fault} round {number}: {result.booked} booked, {result.lost} lost, "
                    f"{result.duplicated} duplicated, recovered in {result.recover_s} s: {verdict}"
                )
                results.append(result)
    finally:
        if results:
            console.print(report.table(results))
            report.print_problems(console, results)
            path = report.write(results, plan, " ".join(["python -m bench.chaos", *sys.argv[1:]]))
            console.print(f"results: {path}")
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


if __name__ == "__main__":
    app()
