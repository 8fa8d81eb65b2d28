"""Derivation by the Faust worker: a burst through the live worker, and a backlog replayed by
fresh workers (bench/replay.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.clients import now_ms
from bench.hops import CDC_RECORDS_PER_CHANGE, summary
from bench.replay import rate, replay
from bench.report import Outcome, Table, ms
from bench.scenarios.context import Context, book
from ops.topic_reader import end_offsets, read_events
from soi.config import TOPICS


async def derivation(ctx: Context) -> Outcome:
    size = ctx.derivation_burst
    size = (2_000 if ctx.quick else 20_000) if size is None else size
    burst = await _derivation_burst(ctx, size) if size else None
    replay = await _replay(ctx, ctx.replay_events or (5_000 if ctx.quick else 20_000))
    if burst is None:
        return _replay_only(ctx, replay)
    rows = [
        [
            "burst through the live worker",
            f"{burst['events']}",
            f"{burst['booking_rate']:.0f}",
            f"{burst['capture_rate']:.0f}",
            f"{burst['derive_rate']:.0f}",
            ms(burst["captured_to_derived"]["p50"]),
            ms(burst["captured_to_derived"]["p99"]),
        ],
        [
            f"backlog replayed by {replay['workers']} fresh worker(s)",
            f"{replay['events']}",
            "-",
            "-",
            f"{replay['derive_rate']:.0f}",
            "-",
            "-",
        ],
    ]
    per_event = replay["cpu_us_per_event"]
    notes = [
        "replay CPU: "
        + (
            f"{per_event:.0f} µs of the worker's CPU per event ({replay['cpu_seconds']:.1f} s "
            f"for {replay['events']} events, {CDC_RECORDS_PER_CHANGE} CDC records each)"
            if per_event
            else "not measured (the worker's CPU was not sampled around the replay)"
        ),
    ]
    return Outcome(
        scenario="derivation",
        title="Derivation by one Faust worker",
        settings={
            "burst": burst["booked"],
            "replay_events": replay["events"],
            **ctx.load_settings(),
        },
        figures={"burst": burst, "replay": replay},
        tables=[
            Table(
                "events per second and the delay derivation adds",
                [
                    "measure",
                    "events",
                    "booked/s",
                    "captured/s",
                    "derived/s",
                    "captured→derived p50 ms",
                    "p99 ms",
                ],
                rows,
            )
        ],
        notes=[
            *notes,
            "burst: changes booked as fast as the load generator can, derived by the live "
            "worker; "
            + (
                "it kept up with capture, so its rate is a lower bound"
                if burst["derive_rate"] >= 0.95 * burst["capture_rate"]
                else "it fell behind capture, so its rate is what it derives"
            )
            + f" (catch-up after the last commit: {ms(burst['catch_up_ms'])} ms)",
            f"replay: {replay['workers']} more worker process(es) in one consumer group of "
            f"their own (namespace {replay['namespace']}) derive sor.bank.money from its "
            "beginning into scratch topics, deleted afterwards: the workers' own ceiling, "
            "with no booking or capture in front of it "
            f"(each event is {CDC_RECORDS_PER_CHANGE} CDC records: a ledger entry, a balance)",
            "captured→derived at light load is in the latency scenario's per-hop table",
        ],
        latency_samples={"burst captured→derived": burst.pop("delays")},
    )


def _replay_only(ctx: Context, replay: dict[str, Any]) -> Outcome:
    per_event = replay["cpu_us_per_event"]
    return Outcome(
        scenario="derivation",
        title="Derivation: a backlog replayed",
        settings={"replay_events": replay["events"], "replay_workers": replay["workers"]},
        figures={"replay": replay},
        tables=[
            Table(
                "a backlog of sor.bank.money derived by fresh workers",
                ["workers", "events", "derived/s", "worker CPU µs per event"],
                [
                    [
                        f"{replay['workers']}",
                        f"{replay['events']}",
                        f"{replay['derive_rate']:.0f}",
                        f"{per_event:.0f}" if per_event else "-",
                    ]
                ],
            )
        ],
        notes=[
            f"each event is {CDC_RECORDS_PER_CHANGE} CDC records (a ledger entry, a balance); "
            f"the workers write scratch topics (namespace {replay['namespace']}), deleted after",
        ],
    )


async def _replay(ctx: Context, wanted: int) -> dict[str, Any]:
    workers = ctx.replay_workers
    task = ctx.task(f"replaying sor.bank.money into a scratch namespace ({workers} workers)", None)
    result = await asyncio.to_thread(replay, ctx.config, wanted, workers)
    ctx.done(task)
    return result


async def _derivation_burst(ctx: Context, changes: int) -> dict[str, Any]:
    bootstrap = ctx.config.kafka_bootstrap
    start = end_offsets(bootstrap, TOPICS.balance_changed)
    ibans = {a.iban for a in ctx.accounts}
    since = now_ms()
    plan = ctx.plan(None, 300, ctx.accounts, "bench derivation burst", limit=changes)
    result = await book(ctx, plan)
    task = ctx.task("reading the derived burst", None)
    events = await asyncio.to_thread(
        read_events,
        bootstrap,
        TOPICS.balance_changed,
        start,
        lambda e: e["iban"] in ibans and e["committed_at"] >= since,
        result.booked,
        300,
    )
    ctx.done(task)
    delays = [e["derived_at"] - e["captured_at"] for e in events]
    return {
        "booked": result.booked,
        "events": len(events),
        "booking_rate": result.achieved_rate,
        "capture_rate": rate([e["captured_at"] for e in events], len(events)),
        "derive_rate": rate([e["derived_at"] for e in events], len(events)),
        "captured_to_derived": summary(delays),
        "catch_up_ms": max(e["derived_at"] for e in events) - max(e["committed_at"] for e in events)
        if events
        else None,
        "delays": delays,
    }
