"""The drill's table (per fault, over its rounds) and its JSON file."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.chaos.drill import Plan, RoundResult
from bench.report import RESULTS_DIR, machine


def _seconds(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "never"
    text = f"{statistics.median(known):.1f} s"
    if len(known) > 1:
        text += f" (max {max(known):.1f})"
    return text + (f", {len(values) - len(known)} never" if len(known) < len(values) else "")


def table(results: list[RoundResult]) -> Table:
    view = Table(title="Fault drill: every booked change, exactly once, shown right")
    for column in ("fault", "rounds", "changes booked", "lost", "duplicated", "repeats"):
        view.add_column(column, justify="left" if column == "fault" else "right")
    view.add_column("back in", justify="right")
    view.add_column("time to recover", justify="right")
    failovers = any(r.failover_s is not None for r in results)
    if failovers:
        view.add_column("clients back in", justify="right")
    view.add_column("verdict")
    for fault in dict.fromkeys(r.fault for r in results):
        rounds = [r for r in results if r.fault == fault]
        failed = sum(not r.ok for r in rounds)
        view.add_row(
            fault,
            str(len(rounds)),
            str(sum(r.booked for r in rounds)),
            str(sum(r.lost for r in rounds)),
            str(sum(r.duplicated for r in rounds)),
            str(sum(r.repeats for r in rounds)),
            _seconds([r.back_s for r in rounds]),
            _seconds([r.recover_s for r in rounds]),
            *([_seconds([r.failover_s for r in rounds])] if failovers else []),
            "[green]ok[/]" if not failed else f"[red]{failed} failed[/]",
        )
    return view


def write(results: list[RoundResult], plan: Plan, command: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{stamp}-chaos.json"
    document = {
        "command": command,
        "machine": machine(),
        "plan": asdict(plan),
        "rounds": [r.to_json() for r in results],
    }
    path.write_text(json.dumps(document, indent=2))
    return path


def print_problems(console: Console, results: list[RoundResult]) -> None:
    for result in results:
        for problem in result.problems:
            console.print(f"[red]{result.fault} round {result.round}[/]: {problem}")


def summary(result: RoundResult, shown: int = 25) -> str:
    """One round in a few lines: the figures, then its problems (the first `shown`)."""
    lines = [
        f"{result.fault} round {result.round}: {result.booked} booked ({result.confirmed} "
        f"confirmed, {result.failed_attempts} failed attempts retried), {result.lost} lost, "
        f"{result.duplicated} duplicated, {result.repeats} repeats, back in {result.back_s} s, "
        f"recovered in {result.recover_s} s"
        + (f", clients back in {result.failover_s} s" if result.failover_s is not None else ""),
        *result.problems[:shown],
    ]
    if len(result.problems) > shown:
        lines.append(f"... and {len(result.problems) - shown} more problems")
    lines += result.notes
    if result.restarted_by_hand:
        lines.append(f"restarted by hand afterwards: {', '.join(result.restarted_by_hand)}")
    return "\n".join(lines)
