"""Side by side: our live feed, polling the REST API, and a gateway with a Kafka consumer per
connection (bench/per_connection_gateway.py), under the same load."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from bench import footprint as fp
from bench.children import free_port, stop
from bench.clerk import live_token
from bench.clients import FeedClient, Poller, close_clients, now_ms, open_clients
from bench.hops import ratio, summary
from bench.load import Account
from bench.report import Outcome, Table
from bench.scenarios.context import Context, book, total_delays, wait_quiet
from kernel.settings import REPO_ROOT, Settings

COMPARE_RATE = 10.0


@contextlib.asynccontextmanager
async def per_connection_gateway(config: Settings) -> AsyncIterator[tuple[str, int]]:
    """Starts bench/per_connection_gateway.py on a free loopback port; yields (url, pid)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.per_connection_gateway:app",
            f"--host={config.host}",
            f"--port={port}",
            "--log-level=warning",
        ],
        cwd=REPO_ROOT,
    )
    url = f"http://{config.host}:{port}"
    try:
        for _ in range(100):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/stats", timeout=1).status_code == 200:
                    break
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError(f"the consumer-per-connection gateway did not start on {url}")
        yield url, process.pid
    finally:
        stop(process, 15)


async def _feed_phase(
    ctx: Context, accounts: list[Account], seconds: float, url: str, pid: int, token: str | None
) -> dict[str, Any]:
    receipts: list[dict[str, Any]] = []
    ws_url = url.replace("http", "ws", 1) + "/ws"
    rss_before = fp.rss_mib(pid)
    since = now_ms()
    clients, failed = await open_clients(
        len(accounts),
        lambda i: FeedClient(
            ws_url, ctx.config.soe_url, token, receipts, [accounts[i].iban], since_ms=since
        ),
    )
    with fp.QueryRate(ctx.config) as queries, fp.Meter({"server": pid}) as meter:
        result = await book(ctx, ctx.plan(COMPARE_RATE, seconds, accounts, "bench compare"))
        connections = fp.kafka_connections(pid, ctx.config.kafka_port)
        await wait_quiet(receipts, expected=result.booked)
    await close_clients(clients)
    server = meter.figures()["server"]
    return {
        "booked": result.booked,
        "received": len(receipts),
        "delay": summary(total_delays(receipts)),
        "memory_added_mib": server["rss_mib_max"] - rss_before,
        "server_rss_mib_max": server["rss_mib_max"],
        "server_cpu_percent": server["cpu_percent"],
        "kafka_connections": connections,
        "db_queries_per_s": queries.per_second,
        "failed_connections": len(failed),
        "connection_errors": sorted(set(failed))[:10],
    }


async def _poll_phase(ctx: Context, accounts: list[Account], seconds: float) -> dict[str, Any]:
    sor = fp.component_pids(ctx.config)["sor"]
    rss_before = fp.rss_mib(sor)
    delays: list[float] = []
    token = ctx.api_token
    http = httpx.AsyncClient(
        base_url=ctx.config.sor_url,
        headers={"Authorization": f"Token {token}"},
        timeout=30,
        limits=httpx.Limits(max_connections=len(accounts)),
    )
    pollers = [Poller(http, a.iban, delays) for a in accounts]
    stop = asyncio.Event()
    started = time.monotonic()
    with fp.QueryRate(ctx.config) as queries, fp.Meter({"server": sor}) as meter:
        tasks = [asyncio.create_task(p.run(stop)) for p in pollers]
        result = await book(ctx, ctx.plan(COMPARE_RATE, seconds, accounts, "bench polling"))
        await asyncio.sleep(1.5)  # one more poll each, to see the last changes
        stop.set()
        await asyncio.gather(*tasks)
    await http.aclose()
    server = meter.figures()["server"]
    requests = sum(p.requests for p in pollers)
    return {
        "booked": result.booked,
        "received": len(delays),
        "delay": summary(delays),
        "memory_added_mib": server["rss_mib_max"] - rss_before,
        "server_rss_mib_max": server["rss_mib_max"],
        "server_cpu_percent": server["cpu_percent"],
        "kafka_connections": 0,
        "db_queries_per_s": queries.per_second,
        "requests": requests,
        "requests_per_s": requests / (time.monotonic() - started),
        "failed_requests": sum(p.failures for p in pollers),
    }


async def compare(ctx: Context) -> Outcome:
    seconds = ctx.seconds(30, 10)
    counts = [c for c in (100, 500) if c <= len(ctx.accounts)]
    token = live_token(ctx.config)
    gateway = fp.component_pids(ctx.config)["soe"]
    runs = []
    async with per_connection_gateway(ctx.config) as (variant_url, variant_pid):
        for count in counts:
            accounts = ctx.accounts[:count]
            task = ctx.task(f"side by side, {count} clients", 3)
            ours = await _feed_phase(ctx, accounts, seconds, ctx.config.soe_url, gateway, token)
            ctx.progress.advance(task)
            polling = await _poll_phase(ctx, accounts, seconds)
            ctx.progress.advance(task)
            per_connection = await _feed_phase(
                ctx, accounts, seconds, variant_url, variant_pid, None
            )
            ctx.done(task)
            runs.append(
                {
                    "clients": count,
                    "ours": ours,
                    "polling": polling,
                    "per_connection": per_connection,
                }
            )
    tables = [_comparison_table(run) for run in runs]
    served = [
        f"polling, {run['clients']} viewers: the API answered "
        f"{run['polling']['requests_per_s']:.0f} polls/s of the {run['clients']}/s asked "
        f"({run['polling']['failed_requests']} failed)"
        for run in runs
    ]
    return Outcome(
        scenario="compare",
        title="Side by side: live feed, polling, a consumer per connection",
        settings={
            "rate": COMPARE_RATE,
            "seconds": seconds,
            "clients": counts,
            "polling_interval_s": 1.0,
            **ctx.load_settings(),
        },
        figures={"runs": runs},
        tables=tables,
        notes=[
            "each viewer watches one account; the three run one after the other in one run, "
            f"with the same load ({COMPARE_RATE:g} changes/s over the viewers' accounts)",
            "DB queries/s is MariaDB's global Questions counter: it includes the load "
            "generator's bookings and anyone else's work, so the polling cost is the difference "
            "between its phase and ours",
            "memory added = the server's highest RSS during the phase minus its RSS before the "
            "clients connected (gateway, gunicorn's workers, the variant)",
            "a poller sees a change at its first answer after the commit; when two changes fall "
            "between polls, only the later is timed",
            *served,
        ],
        latency_samples={},
    )


def _comparison_table(run: dict[str, Any]) -> Table:
    ours, polling, per_connection = run["ours"], run["polling"], run["per_connection"]
    added_queries = polling["db_queries_per_s"] - ours["db_queries_per_s"]

    def row(name: str, key: Callable[[dict[str, Any]], float | None], fmt: str) -> list[str]:
        values = [key(ours), key(polling), key(per_connection)]
        shown = ["-" if v is None else format(v, fmt) for v in values]
        ratios = [ratio(values[1], values[0]), ratio(values[2], values[0])]
        return [name, shown[0], shown[1], _times(ratios[0]), shown[2], _times(ratios[1])]

    rows = [
        row("delay p50, ms", lambda r: r["delay"]["p50"], ",.0f"),
        row("delay p99, ms", lambda r: r["delay"]["p99"], ",.0f"),
        row("server memory added, MiB", lambda r: r["memory_added_mib"], ",.1f"),
        row("server CPU, % of a core", lambda r: r["server_cpu_percent"], ",.0f"),
        row("Kafka connections", lambda r: r["kafka_connections"], "d"),
        [
            "DB queries/s added",
            "0",
            f"{added_queries:,.0f}",
            "inf" if added_queries > 0 else "-",
            "0",
            "-",
        ],
        row("changes seen", lambda r: r["received"], "d"),
    ]
    return Table(
        f"{run['clients']} viewers",
        ["", "ours (one consumer)", "polling 1/s", "x ours", "consumer per connection", "x ours"],
        rows,
    )


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}x"
