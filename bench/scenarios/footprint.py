"""Footprint: memory and CPU of every component, idle and under load."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from bench import footprint as fp
from bench.report import Outcome, Table, latest
from bench.scenarios.context import Context, book


def footprint_rate(ctx: Context) -> tuple[float, str]:
    if ctx.footprint_rate:
        return ctx.footprint_rate, "given with --rate"
    previous = latest("sustained")
    top = previous and previous["figures"].get("highest_sustained_rate")
    if top:
        return float(top), f"the highest sustained rate of {previous['measured_at']}"
    return 500.0, "no sustained-rate result yet: 500/s by default"


async def footprint(ctx: Context) -> Outcome:
    idle_seconds, load_seconds = ctx.seconds(30, 5), ctx.seconds(60, 10)
    rate, why = footprint_rate(ctx)
    pids = fp.component_pids(ctx.config)
    task = ctx.task(f"idle footprint ({idle_seconds:g} s)", None)
    with fp.Meter(pids) as idle:
        await asyncio.sleep(idle_seconds)
    ctx.done(task)
    receipts: list[dict[str, Any]] = []
    client = await ctx.watching(receipts, [a.iban for a in ctx.accounts], watch_all=True)
    with fp.Meter({**pids, "bench (load generator, client)": os.getpid()}) as busy:
        result = await book(ctx, ctx.plan(rate, load_seconds, ctx.accounts, "bench footprint"))
    await client.close()
    idle_figures, busy_figures = idle.figures(), busy.figures()
    rows = []
    for name, figures in busy_figures.items():
        before = idle_figures.get(name)
        rows.append(
            [
                name,
                f"{before['rss_mib_mean']:.0f}" if before else "-",
                f"{before['cpu_percent']:.1f}" if before else "-",
                f"{figures['rss_mib_max']:.0f}",
                f"{figures['cpu_percent']:.0f}",
            ]
        )
    return Outcome(
        scenario="footprint",
        title="Footprint per component",
        settings={
            "idle_seconds": idle_seconds,
            "load_seconds": load_seconds,
            "rate": rate,
            "rate_from": why,
            **ctx.load_settings(),
        },
        figures={
            "idle": idle_figures,
            "load": busy_figures,
            "achieved_rate": result.achieved_rate,
            "booked": result.booked,
        },
        tables=[
            Table(
                f"idle, and under {rate:g} changes/s (reached {result.achieved_rate:.0f}/s)",
                ["component", "idle RSS MiB", "idle CPU %", "load RSS MiB (max)", "load CPU %"],
                rows,
            )
        ],
        notes=[
            f"rate: {why}",
            "RSS and CPU of each component's process tree (gunicorn with its workers); "
            "CPU in % of one core, 200% = the whole machine",
            "idle means no benchmark load: other work on the stack (tests) still counts",
        ],
    )
