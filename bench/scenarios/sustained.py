"""Sustained rate: rate steps, each held for a while; a step is sustained when the load generator
kept the rate, the worker's lag stayed flat and p99 stayed under the goal."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from typing import Any

from bench import footprint as fp
from bench.hops import CDC_RECORDS_PER_CHANGE, TOTAL, hop_summaries, lag_trend, sustained
from bench.report import Outcome, Table, ms
from bench.scenarios.context import Context, book, wait_quiet
from events.topics import CDC_MONEY
from ops.kafka import Kafka
from ops.lag import committed_lag
from soi.config import DERIVATION_GROUP

SUSTAINED_P99_GOAL = 500.0


async def _sample_lag(
    lag: Callable[[], int], samples: list[tuple[float, int]], stop: asyncio.Event
):
    start = time.monotonic()
    while not stop.is_set():
        samples.append((time.monotonic() - start, await asyncio.to_thread(lag)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def sustained_rate(ctx: Context) -> Outcome:
    seconds = ctx.step_seconds
    ibans = [a.iban for a in ctx.accounts]
    receipts: list[dict[str, Any]] = []
    client = await ctx.watching(receipts, ibans, watch_all=True)
    kafka = Kafka(ctx.config.kafka_bootstrap, 10.0)
    lag = functools.partial(committed_lag, kafka, DERIVATION_GROUP, CDC_MONEY)
    steps: list[dict[str, Any]] = []
    notes: list[str] = []
    for rate in ctx.rates:
        if steps and not steps[-1]["generator_kept_rate"] and steps[-1]["achieved_rate"] < rate:
            notes.append(
                f"{rate:g}/s skipped: the load generator reached only "
                f"{steps[-1]['achieved_rate']:.0f}/s at the step before"
            )
            continue
        if client.close_code is not None:
            notes.append(f"the watching client was closed with {client.close_code}; reconnected")
            client = await ctx.watching(receipts, ibans, watch_all=True)
        samples: list[tuple[float, int]] = []
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample_lag(lag, samples, stop))
        with fp.Meter(fp.component_pids(ctx.config)) as meter:
            result = await book(ctx, ctx.plan(rate, seconds, ctx.accounts, f"bench rate {rate:g}"))
        stop.set()
        await sampler
        cpu = {name: figures["cpu_percent"] for name, figures in meter.figures().items()}
        span = max(result.ended_at - result.started_at, 1e-9)
        cpu["load generator"] = 100 * result.cpu_seconds / span
        window = (result.started_at * 1000, result.ended_at * 1000)
        in_step = [r for r in receipts if window[0] <= r["committed_at"] <= window[1]]
        drain = ctx.task(f"draining {rate:g}/s", result.booked)
        deadline = time.monotonic() + max(30.0, seconds)
        while len(in_step) < result.booked and time.monotonic() < deadline:
            await wait_quiet(receipts, limit=1.0)
            in_step = [r for r in receipts if window[0] <= r["committed_at"] <= window[1]]
            ctx.progress.update(drain, completed=len(in_step))
        ctx.done(drain)
        hops = hop_summaries(in_step)
        trend = lag_trend(samples, result.achieved_rate * CDC_RECORDS_PER_CHANGE)
        kept = sustained(rate, result.achieved_rate)
        p99 = hops[TOTAL[0]]["p99"]
        steps.append(
            {
                "rate": rate,
                "achieved_rate": result.achieved_rate,
                "booked": result.booked,
                "failed": result.failed,
                "received": len(in_step),
                "generator_kept_rate": kept,
                "hops": hops,
                "lag": {
                    "slope_records_per_s": trend.slope,
                    "first": trend.first,
                    "last": trend.last,
                    "max": trend.max,
                    "flat": trend.flat,
                    "samples": samples,
                },
                "sustained": kept and trend.flat and p99 is not None and p99 < SUSTAINED_P99_GOAL,
                "load_errors": result.errors,
                "cpu_percent": cpu,
            }
        )
    await client.close()
    top = max((s["rate"] for s in steps if s["sustained"]), default=None)
    rows = [
        [
            f"{s['rate']:g}",
            f"{s['achieved_rate']:.0f}",
            f"{s['received']}/{s['booked']}",
            ms(s["hops"][TOTAL[0]]["p50"]),
            ms(s["hops"][TOTAL[0]]["p99"]),
            ms(s["hops"]["commit→captured"]["p50"]),
            ms(s["hops"]["captured→derived"]["p50"]),
            f"{s['lag']['max']} ({s['lag']['slope_records_per_s']:+.0f}/s)",
            "yes" if s["lag"]["flat"] else "NO",
            "yes" if s["sustained"] else "no",
        ]
        for s in steps
    ]
    notes.append(
        f"highest rate sustained (rate kept, lag flat, p99 < {SUSTAINED_P99_GOAL:.0f} ms): "
        f"{top:g}/s"
        if top
        else "no rate was sustained"
    )
    return Outcome(
        scenario="sustained",
        title="Sustained rate",
        settings={"rates": ctx.rates, "step_seconds": seconds, **ctx.load_settings()},
        figures={"steps": steps, "highest_sustained_rate": top, "p99_goal_ms": SUSTAINED_P99_GOAL},
        tables=[
            Table(
                "per step (commit to receipt; worker lag on sor.bank.money)",
                [
                    "rate/s",
                    "reached/s",
                    "received",
                    "p50 ms",
                    "p99 ms",
                    "capture p50 ms",
                    "derive p50 ms",
                    "lag max (trend)",
                    "lag flat",
                    "sustained",
                ],
                rows,
            ),
            _cpu_table(steps),
        ],
        notes=notes,
        rate_points=[
            (s["achieved_rate"], s["hops"][TOTAL[0]]["p99"])
            for s in steps
            if s["hops"][TOTAL[0]]["p99"] is not None
        ],
    )


def _cpu_table(steps: list[dict[str, Any]]) -> Table:
    """Who spends the two cores at each step: the first to saturate is the first to fall behind."""
    names = list(dict.fromkeys(name for step in steps for name in step["cpu_percent"]))
    rows = [
        [
            f"{step['rate']:g}",
            *(f"{step['cpu_percent'].get(n, 0):.0f}" for n in names),
            f"{sum(step['cpu_percent'].values()):.0f}",
        ]
        for step in steps
    ]
    return Table(
        "CPU per component at each step (% of one core; the machine has 200%)",
        ["rate/s", *names, "total"],
        rows,
    )
