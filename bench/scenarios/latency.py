"""Light-load latency: 10 changes/s, commit to receipt per hop against the goal."""

from __future__ import annotations

from typing import Any

from bench.clients import now_ms
from bench.hops import HOPS, TOTAL, hop_delays, hop_summaries
from bench.report import Outcome, Table
from bench.scenarios.context import HOP_COLUMNS, Context, book, hop_rows, wait_quiet

# The light-load goal, commit to browser at 10 changes/s (docs/performance.md).
LATENCY_GOAL = {"p50": 20.0, "p99": 60.0}


async def latency(ctx: Context) -> Outcome:
    rate, seconds = 10.0, ctx.seconds(60, 15)
    accounts = ctx.accounts[:100]  # one subscribe message holds at most 100 accounts
    receipts: list[dict[str, Any]] = []
    client = await ctx.watching(receipts, [a.iban for a in accounts], since_ms=now_ms())
    result = await book(ctx, ctx.plan(rate, seconds, accounts, "bench latency"))
    await wait_quiet(receipts, expected=result.booked)
    await client.close()

    hops = hop_summaries(receipts)
    total = hops[TOTAL[0]]
    met = total["count"] > 0 and all(total[q] <= limit for q, limit in LATENCY_GOAL.items())
    per_event = [hop_delays(r) for r in receipts]
    return Outcome(
        scenario="latency",
        title="Light-load latency",
        settings={
            "rate": rate,
            "seconds": seconds,
            "watched_accounts": len(accounts),
            **ctx.load_settings(),
        },
        figures={
            "booked": result.booked,
            "failed": result.failed,
            "achieved_rate": result.achieved_rate,
            "received": len(receipts),
            "missing": result.booked - len(receipts),
            "hops": hops,
            "goal_ms": LATENCY_GOAL,
            "goal_met": met,
            "client_close_code": client.close_code,
            "per_event_ms": per_event,
            "load_errors": result.errors,
        },
        tables=[Table("commit to receipt, per hop", HOP_COLUMNS, hop_rows(hops))],
        notes=[
            f"{result.booked} changes at {result.achieved_rate:.1f}/s, {len(receipts)} received; "
            "goal "
            + " and ".join(f"{q} ≤ {limit:g} ms" for q, limit in LATENCY_GOAL.items())
            + f": {'met' if met else 'NOT met'}",
            "commit = the row's updated_at, set by Django inside the committing transaction "
            "(ms precise, a little before the commit itself)",
        ],
        latency_samples={
            name: [d[name] for d in per_event if name in d] for name, _, _ in (*HOPS, TOTAL)
        },
    )
