"""The benchmark scenarios of issue 9 (and the derivation benchmark of issue 5), one function each.

Each books real changes with the load generator, watches them arrive, and returns an Outcome
(report.py) with every figure and the tables to show.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil
from rich.progress import Progress, TaskID

from bench import footprint as fp
from bench.clients import (
    FeedClient,
    Poller,
    close_clients,
    live_token,
    now_ms,
    open_clients,
    raise_open_files_limit,
)
from bench.fanout import (
    SETTLE_SECONDS,
    BenchGateway,
    ClientFleet,
    ClientPlan,
    RssWatch,
    bench_gateway,
    split,
)
from bench.fanout import wait_quiet as wait_fleet_quiet
from bench.hops import (
    CDC_RECORDS_PER_CHANGE,
    HOPS,
    TOTAL,
    hop_delays,
    hop_summaries,
    lag_trend,
    ratio,
    summary,
    sustained,
)
from bench.kafka_probe import (
    GroupLag,
    delete_namespace,
    end_offsets,
    read_events,
    wait_for_topic,
)
from bench.load import Account, LoadPlan, LoadResult, run_load
from bench.report import Outcome, Table, latest, ms
from events.topics import CDC_MONEY, derived_topics
from kernel.settings import REPO_ROOT, Settings
from soi.config import DERIVATION_GROUP, TOPICS
from stack import processes

LATENCY_GOAL = {"p50": 50.0, "p99": 150.0}
SUSTAINED_P99_GOAL = 500.0
FANOUT_RATE = 50.0  # changes per second while the fan-out clients watch
COMPARE_RATE = 10.0
QUIET_SECONDS = 2.0  # the tail of a phase: wait until nothing new arrived for this long


@dataclass
class Context:
    config: Settings
    accounts: list[Account]
    quick: bool
    progress: Progress
    via: str = "sql"
    processes: int = 2
    threads: int = 4
    api_token: str | None = None
    rates: list[float] = field(default_factory=list)
    step_seconds: float = 60.0
    fanout: list[int] = field(default_factory=list)
    fanout_shapes: list[str] = field(default_factory=lambda: ["broadcast", "spread"])
    client_processes: int = 4
    footprint_rate: float | None = None
    replay_workers: int = 1
    replay_events: int | None = None
    derivation_burst: int | None = None

    @property
    def ws_url(self) -> str:
        return self.config.soe_url.replace("http", "ws", 1) + "/ws"

    def seconds(self, full: float, quick: float) -> float:
        return quick if self.quick else full

    def task(self, description: str, total: float | None) -> TaskID:
        return self.progress.add_task(description, total=total)

    def done(self, task: TaskID) -> None:
        self.progress.update(task, visible=False)

    def plan(
        self, rate: float | None, seconds: float, accounts: list[Account], label: str, **extra: Any
    ) -> LoadPlan:
        return LoadPlan(
            rate=rate,
            seconds=seconds,
            accounts=tuple(accounts),
            label=label,
            via=self.via,
            processes=self.processes,
            threads=self.threads,
            api_token=self.api_token,
            **extra,
        )

    def load_settings(self) -> dict[str, Any]:
        how = {"service": "service layer in-process", "sql": "the service layer's SQL"}.get(
            self.via, "REST API"
        )
        return {
            "booked_via": f"{how}, {self.processes} processes x {self.threads} threads",
            "accounts": len(self.accounts),
        }


async def book(ctx: Context, plan: LoadPlan) -> LoadResult:
    """Runs the load plan in worker processes, with a progress bar; the event loop stays free
    for the clients."""
    total = plan.limit or (plan.rate * plan.seconds if plan.rate else None)
    task = ctx.task(f"booking: {plan.label}", total)
    result = await asyncio.to_thread(
        run_load, plan, lambda booked: ctx.progress.update(task, completed=booked)
    )
    ctx.done(task)
    return result


async def wait_quiet(sink: list, expected: int | None = None, limit: float = 30.0) -> None:
    """Until `expected` receipts are in, or nothing new arrived for QUIET_SECONDS."""
    deadline = time.monotonic() + limit
    seen, since = len(sink), time.monotonic()
    while time.monotonic() < deadline:
        if expected is not None and len(sink) >= expected:
            return
        await asyncio.sleep(0.2)
        if len(sink) != seen:
            seen, since = len(sink), time.monotonic()
        elif time.monotonic() - since > QUIET_SECONDS:
            return


def total_delays(receipts: list[dict[str, Any]]) -> list[float]:
    return [d[TOTAL[0]] for d in map(hop_delays, receipts) if TOTAL[0] in d]


def hop_rows(hops: dict[str, dict[str, Any]]) -> list[list[str]]:
    return [
        [name, str(s["count"]), ms(s["p50"]), ms(s["p95"]), ms(s["p99"]), ms(s["max"])]
        for name, s in hops.items()
    ]


HOP_COLUMNS = ["hop", "events", "p50 ms", "p95 ms", "p99 ms", "max ms"]


# -- 1. light-load latency -------------------------------------------------------------------


async def latency(ctx: Context) -> Outcome:
    rate, seconds = 10.0, ctx.seconds(60, 15)
    accounts = ctx.accounts[:100]  # one subscribe message holds at most 100 accounts
    receipts: list[dict[str, Any]] = []
    client = FeedClient(
        ctx.ws_url,
        ctx.config.soe_url,
        live_token(ctx.config),
        receipts,
        [a.iban for a in accounts],
        since_ms=now_ms(),
    )
    await client.open()
    result = await book(ctx, ctx.plan(rate, seconds, accounts, "bench latency"))
    await wait_quiet(receipts, expected=result.booked)
    await client.close()

    hops = hop_summaries(receipts)
    total = hops[TOTAL[0]]
    met = total["count"] > 0 and all(total[q] < limit for q, limit in LATENCY_GOAL.items())
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
            f"goal p50 < 50 ms and p99 < 150 ms: {'met' if met else 'NOT met'}",
            "commit = the row's updated_at, set by Django inside the committing transaction "
            "(ms precise, a little before the commit itself)",
        ],
        latency_samples={
            name: [d[name] for d in per_event if name in d] for name, _, _ in (*HOPS, TOTAL)
        },
    )


# -- 2. sustained rate ------------------------------------------------------------------------


async def _sample_lag(lag: GroupLag, samples: list[tuple[float, int]], stop: asyncio.Event):
    start = time.monotonic()
    while not stop.is_set():
        samples.append((time.monotonic() - start, await asyncio.to_thread(lag.total)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def sustained_rate(ctx: Context) -> Outcome:
    seconds = ctx.step_seconds
    ibans = [a.iban for a in ctx.accounts]
    receipts: list[dict[str, Any]] = []
    token = live_token(ctx.config)
    client = FeedClient(ctx.ws_url, ctx.config.soe_url, token, receipts, ibans, watch_all=True)
    await client.open()
    lag = GroupLag(ctx.config.kafka_bootstrap, DERIVATION_GROUP, CDC_MONEY)
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
            client = FeedClient(
                ctx.ws_url, ctx.config.soe_url, token, receipts, ibans, watch_all=True
            )
            await client.open()
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


# -- 3. fan-out -------------------------------------------------------------------------------


BROADCAST_ACCOUNTS = 5  # every broadcast client watches these same accounts
BROADCAST_RATE = 2.0  # changes per second over them: each reaches every client


async def fanout(ctx: Context) -> Outcome:
    seconds = ctx.seconds(30, 10)
    after_seconds = ctx.seconds(60, 20)
    limit_here = raise_open_files_limit()
    port = _free_port()
    runs: list[dict[str, Any]] = []
    samples: dict[str, list[float]] = {}
    with bench_gateway(ctx.config, max(ctx.fanout), port) as gateway:
        limit_soft, limit_hard = fp.open_files_limit(gateway.pid)
        await asyncio.sleep(SETTLE_SECONDS)
        idle = fp.rss_mib(gateway.pid)
        for shape in ctx.fanout_shapes:
            for count in ctx.fanout:
                run = await _fanout_run(ctx, gateway, shape, count, seconds, after_seconds)
                samples[f"{shape} {count}"] = run.pop("delays")
                runs.append(run)
        gateway_env = gateway.env
    rows = [
        [
            r["shape"],
            str(r["clients"]),
            f"{r['open_seconds']:.0f}",
            f"{r['received']} / {r['expected']}",
            ms(r["delivery"]["p50"]),
            ms(r["delivery"]["p99"]),
            f"{ms(r['gateway_to_client']['p50'])} / {ms(r['gateway_to_client']['p99'])}",
            f"{r['rss_mib_before']:.0f} → {r['rss_mib_with']:.0f}",
            f"{r['kib_per_client']:.1f}",
            f"{r['rss_mib_after']:.0f}",
            f"{r['gateway']['cpu_percent']:.0f}",
            f"{r['clients_cpu_percent']:.0f}",
            f"{r['dropped_clients']} / {r['failed_connections']}",
        ]
        for r in runs
    ]
    return Outcome(
        scenario="fanout",
        title="Fan-out on one gateway",
        settings={
            "seconds": seconds,
            "clients": ctx.fanout,
            "shapes": ctx.fanout_shapes,
            "client_processes": ctx.client_processes,
            "broadcast": f"{BROADCAST_RATE:g} changes/s over {BROADCAST_ACCOUNTS} accounts",
            "spread": f"{FANOUT_RATE:g} changes/s over {len(ctx.accounts)} accounts",
            "gateway_env": gateway_env,
            "gateway_idle_rss_mib": idle,
            "gateway_open_files_limit": [limit_soft, limit_hard],
            "clients_open_files_limit": limit_here,
            **ctx.load_settings(),
        },
        figures={"runs": runs},
        tables=[
            Table(
                "commit → client; memory and CPU of the one gateway",
                [
                    "shape",
                    "clients",
                    "connect s",
                    "received / expected",
                    "p50 ms",
                    "p99 ms",
                    "queued→client p50 / p99",
                    "gateway RSS MiB",
                    "KiB/client",
                    f"RSS {after_seconds:.0f} s after",
                    "gateway CPU %",
                    "clients CPU %",
                    "dropped / failed",
                ],
                rows,
            )
        ],
        notes=[
            "the benchmark's own gateway (python -m soe), limits raised by configuration: "
            + ", ".join(f"{k}={v}" for k, v in sorted(gateway_env.items()) if "MAX" in k),
            f"broadcast: every client watches the same {BROADCAST_ACCOUNTS} accounts, "
            f"{BROADCAST_RATE:g} changes/s over them; spread: client i watches bench account "
            f"i mod {len(ctx.accounts)}, {FANOUT_RATE:g} changes/s over all of them",
            f"the clients run in {ctx.client_processes} processes of their own; CPU in % of one "
            "core (200% = both), over the booking window",
            "queued→client: from the gateway queuing the change (sent_at) to a client reading "
            "it: the gateway's send path and the clients' own; commit→client adds the bank's "
            "pipeline (database, Connect, the Faust worker, Kafka)",
            f"gateway idle RSS {idle:.0f} MiB before the first client; 'RSS after' is "
            f"{after_seconds:.0f} s after the last client left",
        ],
        latency_samples=samples,
    )


async def _fanout_run(
    ctx: Context,
    gateway: BenchGateway,
    shape: str,
    count: int,
    seconds: float,
    after_seconds: float,
) -> dict[str, Any]:
    token = live_token(ctx.config)
    if shape == "broadcast":
        booked_on = ctx.accounts[:BROADCAST_ACCOUNTS]
        ibans = [account.iban for account in booked_on]
        watch = [ibans] * count
        rate = BROADCAST_RATE
    else:
        booked_on = ctx.accounts[: min(count, len(ctx.accounts))]
        watch = [[booked_on[i % len(booked_on)].iban] for i in range(count)]
        rate = FANOUT_RATE
    since = now_ms()
    rss_before = fp.rss_mib(gateway.pid)
    plans = [
        ClientPlan(gateway.ws_url, gateway.url, token, part, since)
        for part in split(watch, ctx.client_processes)
    ]
    task = ctx.task(f"{shape}: connecting {count} clients in {len(plans)} processes", None)
    started = time.monotonic()
    fleet = ClientFleet(plans)
    opened, failed, reasons = await asyncio.to_thread(fleet.opened)
    open_seconds = time.monotonic() - started
    ctx.done(task)
    await asyncio.sleep(SETTLE_SECONDS)
    rss_with = fp.rss_mib(gateway.pid)
    consumers = [_gateway_metric(gateway, "soe_kafka_consumers")]
    cpu_before, at_before = fleet.cpu_seconds(), time.monotonic()
    with fp.Meter({"gateway": gateway.pid}) as meter:
        result = await book(ctx, ctx.plan(rate, seconds, booked_on, f"fanout {shape} {count}"))
        per_account = [sum(1 for w in watch if a.iban in w) for a in booked_on]
        expected = round(result.booked * sum(per_account) / len(booked_on))
        received = await asyncio.to_thread(wait_fleet_quiet, fleet, expected)
    cpu_after, at_after = fleet.cpu_seconds(), time.monotonic()
    consumers.append(_gateway_metric(gateway, "soe_kafka_consumers"))
    metered = meter.figures()
    dropped, delays, hop = await asyncio.to_thread(fleet.close)
    left_at = time.monotonic()
    watch_rss = RssWatch(gateway.pid)
    await asyncio.sleep(after_seconds)
    watch_rss.stop()
    rss_after = fp.rss_mib(gateway.pid)
    near = rss_before + max(10.0, 0.1 * (rss_with - rss_before))
    back = next((at - left_at for at, rss in watch_rss.samples if rss <= near), None)
    return {
        "shape": shape,
        "clients": count,
        "opened": opened,
        "open_seconds": open_seconds,
        "booked": result.booked,
        "achieved_rate": result.achieved_rate,
        "received": received,
        "expected": expected,
        "delivery": summary(delays),
        "gateway_to_client": summary(hop),
        "rss_mib_before": rss_before,
        "rss_mib_with": rss_with,
        "kib_per_client": (rss_with - rss_before) * 1024 / max(opened, 1),
        "rss_mib_after": rss_after,
        "seconds_until_near_before": back,
        "gateway": metered["gateway"],
        "clients_cpu_percent": 100 * (cpu_after - cpu_before) / max(at_after - at_before, 1e-9),
        "kafka_consumers": consumers,
        "dropped_clients": dropped,
        "failed_connections": failed,
        "connection_errors": reasons,
        "delays": delays,
    }


def _gateway_metric(gateway: BenchGateway, name: str) -> float:
    try:
        text = httpx.get(f"{gateway.url}/metrics", timeout=10).text
    except httpx.HTTPError:
        return -1
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return -1


# -- 4. side by side: polling and a consumer per connection ------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.asynccontextmanager
async def per_connection_gateway(config: Settings) -> AsyncIterator[tuple[str, int]]:
    """Starts bench/per_connection_gateway.py on a free loopback port; yields (url, pid)."""
    port = _free_port()
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
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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


# -- 5. footprint -----------------------------------------------------------------------------


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
    client = FeedClient(
        ctx.ws_url,
        ctx.config.soe_url,
        live_token(ctx.config),
        receipts,
        [a.iban for a in ctx.accounts],
        watch_all=True,
    )
    await client.open()
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


# -- issue 5: derivation ----------------------------------------------------------------------


async def derivation(ctx: Context) -> Outcome:
    size = ctx.derivation_burst
    size = (2_000 if ctx.quick else 20_000) if size is None else size
    burst = await _derivation_burst(ctx, size) if size else None
    replay = await _derivation_replay(
        ctx, ctx.replay_events or (5_000 if ctx.quick else 20_000), ctx.replay_workers
    )
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


def _rate(values: list[float], count: int) -> float:
    span = (max(values) - min(values)) / 1000 if values else 0
    return count / span if span > 0 else 0.0


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
        "capture_rate": _rate([e["captured_at"] for e in events], len(events)),
        "derive_rate": _rate([e["derived_at"] for e in events], len(events)),
        "captured_to_derived": summary(delays),
        "catch_up_ms": max(e["derived_at"] for e in events) - max(e["committed_at"] for e in events)
        if events
        else None,
        "delays": delays,
    }


async def _derivation_replay(ctx: Context, wanted: int, workers: int) -> dict[str, Any]:
    """Fresh workers (one group, scratch namespace) derive sor.bank.money from its beginning."""
    bootstrap = ctx.config.kafka_bootstrap
    namespace = f"bench-{secrets.token_hex(4)}"
    task = ctx.task(f"replaying sor.bank.money into {namespace}.* ({workers} workers)", None)
    with tempfile.TemporaryDirectory(prefix="bench-soi-") as state:
        os.makedirs(os.path.join(state, "data"))  # Faust makes only the last level of its datadir
        env = {**os.environ, "BANK_TOPIC_NAMESPACE": namespace, "BANK_STATE_DIR": state}
        started = [_scratch_worker(ctx.config, env, state, n) for n in range(workers)]
        cpu = [CpuSampler(worker.pid) for worker, _log in started]
        for sampler in cpu:
            sampler.start()
        try:
            topic = derived_topics(namespace).balance_changed
            await asyncio.to_thread(wait_for_topic, bootstrap, topic, 120)
            events = await asyncio.to_thread(
                read_events,
                bootstrap,
                topic,
                None,
                lambda e: True,
                wanted,
                600,
                10,
                lambda: any(worker.poll() is not None for worker, _log in started),
            )
            for worker, log_path in started:
                if worker.poll() is not None:
                    with open(log_path, errors="replace") as log:
                        tail = log.read()[-2000:]
                    raise RuntimeError(f"a scratch Faust worker exited early:\n{tail}")
        finally:
            for sampler in cpu:
                sampler.stop()
            for worker, _log in started:
                worker.terminate()
            for worker, _log in started:
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            deleted = delete_namespace(
                bootstrap, namespace, [f"{namespace}-soi", f"{namespace}-derivation"]
            )
    ctx.done(task)
    derived_at = [e["derived_at"] for e in events]
    window = (min(derived_at) / 1000, max(derived_at) / 1000) if events else None
    used = [sampler.between(*window) for sampler in cpu] if window else [None]
    seconds = None if None in used else sum(used)
    return {
        "namespace": namespace,
        "workers": workers,
        "events": len(events),
        "derive_rate": _rate(derived_at, len(events)),
        "cpu_seconds": seconds,
        "cpu_us_per_event": seconds / len(events) * 1e6 if seconds and events else None,
        "scratch_topics_deleted": deleted,
    }


def _scratch_worker(
    config: Settings, env: dict[str, str], state: str, n: int
) -> tuple[subprocess.Popen, str]:
    command = [
        f"--web-port={_free_port()}" if arg.startswith("--web-port=") else arg
        for arg in processes.soi(config).command
    ]
    log_path = os.path.join(state, f"worker-{n}.log")
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    return worker, log_path


class CpuSampler:
    """The CPU seconds a process has used, sampled five times a second on a thread."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._samples: list[tuple[float, float]] = []  # (epoch seconds, CPU seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-cpu", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()  # one after the last event, however soon it came

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            if not self._sample():
                return

    def _sample(self) -> bool:
        try:
            times = self._process.cpu_times()
        except psutil.NoSuchProcess:
            return False
        self._samples.append((time.time(), times.user + times.system))
        return True

    def between(self, start: float, end: float) -> float | None:
        """CPU seconds used from the last sample before `start` to the first after `end`."""
        before = [cpu for at, cpu in self._samples if at <= start]
        after = [cpu for at, cpu in self._samples if at >= end]
        if not before or not after:
            return None
        return after[0] - before[-1]


SCENARIOS: dict[str, Callable[[Context], Any]] = {
    "latency": latency,
    "sustained": sustained_rate,
    "fanout": fanout,
    "compare": compare,
    "footprint": footprint,
    "derivation": derivation,
}
