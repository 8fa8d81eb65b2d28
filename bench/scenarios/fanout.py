"""Fan-out on one gateway of the benchmark's own: many clients, broadcast and spread (the client
fleet and the gateway are in bench/fanout.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import psutil

from bench import footprint as fp
from bench.children import free_port
from bench.clients import now_ms, raise_open_files_limit
from bench.fanout import (
    SETTLE_SECONDS,
    BenchGateway,
    ClientFleet,
    ClientPlan,
    RssWatch,
    bench_gateway,
    sampled_profile,
    split,
)
from bench.fanout import wait_quiet as wait_fleet_quiet
from bench.hops import PIPELINE_HOPS, pipeline_hops, summary
from bench.kafka_watch import KafkaWatch
from bench.report import Outcome, Table, ms
from bench.scenarios.context import Context, book

FANOUT_RATE = 50.0  # changes per second while the spread clients watch


BROADCAST_ACCOUNTS = 5  # every broadcast client watches these same accounts
BROADCAST_RATE = 2.0  # changes per second over them: each reaches every client


async def fanout(ctx: Context) -> Outcome:
    seconds = ctx.seconds(30, 10)
    after_seconds = ctx.seconds(60, 20)
    limit_here = raise_open_files_limit()
    port = free_port()
    runs: list[dict[str, Any]] = []
    samples: dict[str, list[float]] = {}
    with bench_gateway(ctx.config, max(ctx.fanout), port, ctx.gateway_env) as gateway:
        limit_soft, limit_hard = fp.open_files_limit(gateway.pid)
        await asyncio.sleep(SETTLE_SECONDS)
        idle = fp.rss_mib(gateway.pid)
        # Every client is one file of the gateway's, on top of those it holds idle (Kafka,
        # the listening socket, its log): above what the limit leaves, the kernel refuses.
        room = limit_soft - _open_files(gateway.pid)
        for shape in ctx.fanout_shapes:
            for count in ctx.fanout:
                run = await _fanout_run(ctx, gateway, shape, count, seconds, after_seconds)
                samples[f"{shape} {count}"] = run.pop("delays")
                runs.append(run)
        gateway_env = gateway.env
    components = sorted({name for r in runs for name in r["components_cpu_percent"]})
    components_header = [*components, "clients"]
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
            _pauses_cell(r["gc_full_pauses"]),
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
            "gateway_room_for_clients": room,
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
                    "full GCs",
                    "dropped / failed",
                ],
                rows,
            ),
            Table(
                "before the gateway: each change once, p50 / p99 ms (in Kafka: when the "
                "benchmark's own read_committed reader got the record)",
                ["shape", "clients", *PIPELINE_HOPS],
                [
                    [
                        r["shape"],
                        str(r["clients"]),
                        *(
                            f"{ms(r['pipeline'][name]['p50'])} / {ms(r['pipeline'][name]['p99'])}"
                            for name in PIPELINE_HOPS
                        ),
                    ]
                    for r in runs
                ],
            ),
            Table(
                "CPU % of one core per process over the booking window",
                ["shape", "clients", *components_header],
                [
                    [
                        r["shape"],
                        str(r["clients"]),
                        *(
                            f"{r['components_cpu_percent'].get(name, float('nan')):.0f}"
                            for name in components
                        ),
                        f"{r['clients_cpu_percent']:.0f}",
                    ]
                    for r in runs
                ],
            ),
        ],
        notes=[
            "the benchmark's own gateway (python -m soe), limits raised by configuration: "
            + ", ".join(f"{k}={v}" for k, v in sorted(gateway_env.items()) if "MAX" in k)
            + "; set for this run: "
            + (", ".join(f"{k}={v}" for k, v in sorted(ctx.gateway_env.items())) or "nothing"),
            f"broadcast: every client watches the same {BROADCAST_ACCOUNTS} accounts, "
            f"{BROADCAST_RATE:g} changes/s over them; spread: client i watches bench account "
            f"i mod {len(ctx.accounts)}, {FANOUT_RATE:g} changes/s over all of them",
            f"the clients run in {ctx.client_processes} processes of their own; CPU in % of one "
            "core (200% = both), over the booking window",
            "queued→client: from the gateway queuing the change (sent_at) to a client reading "
            "it: the gateway's send path and the clients' own; commit→client adds the bank's "
            "pipeline (database, Connect, the Faust worker, Kafka)",
            "full GCs: the gateway's full garbage collections during the booking window, "
            "each a pause of the whole gateway (soe_gc_full_pause_seconds)",
            "before the gateway: commit→captured is Debezium's, captured→derived the worker's, "
            "derived→in Kafka the worker's transaction and the broker, in Kafka→gateway read "
            "the gateway's own read (its frame's sent_at is stamped as it reads the record)",
            *(
                f"{r['shape']} {r['clients']}: the Kafka split is missing: {r['kafka_watch_error']}"
                for r in runs
                if r["kafka_watch_error"]
            ),
            f"the gateway's open-files limit: {limit_soft} (hard {limit_hard}; the benchmark "
            "raises the hard limit for its gateway when the system lets it, BANK_SOE_MAX_"
            f"CONNECTIONS raises the soft one); room for {room} clients"
            + (
                f": of {max(ctx.fanout)}, the {max(ctx.fanout) - room} beyond it are refused "
                "by the kernel (counted as failed)"
                if room < max(ctx.fanout)
                else ""
            ),
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
    token = gateway.token()
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
    pauses_before = _gc_pauses(gateway)
    # The stack's own processes too: a late change may be the pipeline's, starved of CPU.
    metered_pids = {**_stack_pids(ctx), "gateway": gateway.pid}
    profile = ctx.config.path("logs", f"bench-fanout-gateway-{shape}-{count}.pyspy.txt")
    profiling = (
        sampled_profile(gateway.pid, profile, seconds + 60)
        if ctx.profile_gateway
        else contextlib.nullcontext()
    )
    with (
        fp.Meter(metered_pids) as meter,
        KafkaWatch(ctx.config.kafka_bootstrap) as kafka,
        profiling,
    ):
        result = await book(ctx, ctx.plan(rate, seconds, booked_on, f"fanout {shape} {count}"))
        per_account = [sum(1 for w in watch if a.iban in w) for a in booked_on]
        expected = round(result.booked * sum(per_account) / len(booked_on))
        received = await asyncio.to_thread(wait_fleet_quiet, fleet, expected)
    cpu_after, at_after = fleet.cpu_seconds(), time.monotonic()
    pauses = _gc_pauses(gateway, since=pauses_before)
    consumers.append(_gateway_metric(gateway, "soe_kafka_consumers"))
    metered = meter.figures()
    dropped, delays, hop, stamps = await asyncio.to_thread(fleet.close)
    pipeline = {name: summary(values) for name, values in pipeline_hops(stamps, kafka.seen).items()}
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
        "components_cpu_percent": {name: m["cpu_percent"] for name, m in metered.items()},
        "pipeline": pipeline,
        "kafka_watch_error": kafka.error,
        "profile": str(profile) if ctx.profile_gateway else None,
        "clients_cpu_percent": 100 * (cpu_after - cpu_before) / max(at_after - at_before, 1e-9),
        "kafka_consumers": consumers,
        "gc_full_pauses": pauses,
        "dropped_clients": dropped,
        "failed_connections": failed,
        "connection_errors": reasons,
        "delays": delays,
    }


def _open_files(pid: int) -> int:
    try:
        return psutil.Process(pid).num_fds()
    except psutil.NoSuchProcess:
        return 0


def _stack_pids(ctx: Context) -> dict[str, int]:
    """The stack's components (Connect, the worker, Kafka, the database, ...), by name."""
    try:
        return {f"stack {name}": pid for name, pid in fp.component_pids(ctx.config).items()}
    except RuntimeError:
        return {}


def _gateway_metric(gateway: BenchGateway, name: str) -> float:
    text = gateway.http.get("/metrics")
    if text is None:
        return -1
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return -1


GC_PAUSES = "soe_gc_full_pause_seconds"


def _gc_pauses(gateway: BenchGateway, since: dict[str, Any] | None = None) -> dict[str, Any]:
    """The gateway's full garbage collections (soe/collector.py): how many, their seconds, and
    the bucket bound of the longest; since an earlier reading when given."""
    text = gateway.http.get("/metrics")
    if text is None:
        return {"count": -1, "seconds": -1.0, "buckets": {}, "longest_at_most": None}
    buckets: dict[str, float] = {}
    count, seconds = 0.0, 0.0
    for line in text.splitlines():
        if line.startswith(GC_PAUSES + "_bucket"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[bound] = float(line.rsplit(" ", 1)[1])
        elif line.startswith(GC_PAUSES + "_count "):
            count = float(line.split()[1])
        elif line.startswith(GC_PAUSES + "_sum "):
            seconds = float(line.split()[1])
    if since is not None and since["count"] >= 0:
        count -= since["count"]
        seconds -= since["seconds"]
        buckets = {le: n - since["buckets"].get(le, 0) for le, n in buckets.items()}
    longest = next(
        (le for le, n in sorted(buckets.items(), key=lambda b: float(b[0])) if n >= count),
        None,
    )
    return {
        "count": count,
        "seconds": seconds,
        "buckets": buckets,
        "longest_at_most": None if count <= 0 else longest,
    }


def _pauses_cell(pauses: dict[str, Any]) -> str:
    if pauses["count"] < 0:
        return "?"
    if pauses["count"] == 0:
        return "0"
    return f"{pauses['count']:.0f}: {pauses['seconds']:.2f} s, each ≤ {pauses['longest_at_most']} s"
