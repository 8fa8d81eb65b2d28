"""The fan-out benchmark: thousands of live-feed clients on one gateway.

Two shapes: *broadcast*, every client watching the same few accounts (a dashboard on many
screens), and *spread*, client i watching bench account i mod the accounts (changes flowing over
all of them). The clients run in several processes of their own (multiprocessing), so the
benchmark's process is not the bottleneck, and their CPU is reported.

The gateway is one of the benchmark's own: ``python -m soe`` on a free port against the stack's
Kafka and signing key, with its connection limits raised by configuration for the run (the
stack's gateway keeps its production limits) and its open-files limit raised to fit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from typing import Any

import httpx
import psutil

from bench import footprint as fp
from bench.children import stop
from kernel.settings import REPO_ROOT, Settings

HANDSHAKES_AT_ONCE = 50  # per client process
SETTLE_SECONDS = 3.0  # after the last client subscribed, before the memory is read
QUIET_SECONDS = 3.0


def gateway_limits(clients: int) -> dict[str, str]:
    """The connection limits the benchmark's gateway runs with: every client comes from this
    one address and signs in as the one clerk, so the per-address and per-principal limits are
    raised with the total, explicitly."""
    room = str(clients + 1000)
    return {
        "BANK_SOE_MAX_CONNECTIONS": room,
        "BANK_SOE_MAX_CONNECTIONS_PER_ADDRESS": room,
        "BANK_SOE_MAX_CONNECTIONS_PER_PRINCIPAL": room,
        "BANK_SOE_MAX_UNAUTHENTICATED": "2000",
    }


def _raise_hard_open_files(wanted: int) -> None:
    """In the gateway's child before exec: a hard limit room for every client (root may raise
    it; anyone else keeps theirs, and the report shows the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, wanted), wanted))


@dataclass
class BenchGateway:
    url: str
    pid: int
    env: dict[str, str]

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1) + "/ws"


@contextlib.contextmanager
def bench_gateway(
    config: Settings, clients: int, port: int, extra_env: dict[str, str] | None = None
) -> Iterator[BenchGateway]:
    url = f"http://{config.host}:{port}"
    env = {
        **gateway_limits(clients),
        "BANK_DASHBOARD_ORIGINS": url,
        "BANK_SOE_CLIENT_MESSAGES_PER_SECOND": "10",
        **(extra_env or {}),
    }
    log_path = config.path("logs", f"bench-fanout-gateway-{port}.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "soe", f"--host={config.host}", f"--port={port}"],
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=log,
            preexec_fn=lambda: _raise_hard_open_files(clients + 2048),
        )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            if process.poll() is not None:
                raise RuntimeError(f"the bench gateway ended; see {log_path}")
            time.sleep(0.5)
        else:
            raise RuntimeError(f"the bench gateway was not ready in 180 s; see {log_path}")
        yield BenchGateway(url, process.pid, env)
    finally:
        stop(process, 30)


# -- the client processes -------------------------------------------------------------------


@dataclass(frozen=True)
class ClientPlan:
    """What one client process does: open one client per entry of `watch` (the IBANs each
    watches), and record the changes committed after `since_ms`."""

    url: str
    origin: str
    token: str
    watch: list[list[str]]
    since_ms: float


def _client_process(plan: ClientPlan, pipe: Pipe) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 1 << 20)), hard))
    asyncio.run(_clients(plan, pipe))


async def _clients(plan: ClientPlan, pipe: Pipe) -> None:
    import websockets  # in the child only

    delays: list[float] = []  # commit -> received, ms
    gateway_to_client: list[float] = []  # sent_at -> received, ms
    closed_early = 0
    connections: list[Any] = []
    listeners: list[asyncio.Task] = []
    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)

    async def listen(ws: Any, watched: frozenset[str]) -> None:
        nonlocal closed_early
        try:
            async for frame in ws:
                received = time.time() * 1000
                message = json.loads(frame)
                kind = message.get("type")
                if kind == "balance_changed":
                    committed = message.get("committed_at") or 0
                    if (
                        committed >= plan.since_ms
                        and not message.get("replayed")
                        and message.get("iban") in watched
                    ):
                        delays.append(received - committed)
                        gateway_to_client.append(received - message["sent_at"])
                elif kind == "ping":
                    await ws.send(json.dumps({"type": "pong", "ts": message.get("ts")}))
        except websockets.ConnectionClosed:
            pass
        closed_early += 1

    async def one(ibans: list[str]) -> None:
        async with gate:
            ws = await websockets.connect(
                plan.url,
                origin=plan.origin,
                open_timeout=120,
                ping_interval=None,
                max_queue=None,
                compression=None,
            )
            await ws.send(json.dumps({"type": "auth", "token": plan.token}))
            welcome = json.loads(await ws.recv())
            if welcome.get("type") != "welcome":
                await ws.close()
                raise RuntimeError(f"refused: {welcome.get('code')}")
            await ws.send(json.dumps({"type": "subscribe", "accounts": ibans}))
            while json.loads(await ws.recv()).get("type") != "subscribed":
                pass  # the snapshots come first
            connections.append(ws)
            listeners.append(asyncio.create_task(listen(ws, frozenset(ibans))))

    results = await asyncio.gather(*(one(ibans) for ibans in plan.watch), return_exceptions=True)
    failures = sorted({f"{type(r).__name__}: {r}" for r in results if isinstance(r, Exception)})
    failed = sum(1 for r in results if isinstance(r, Exception))
    pipe.send(("opened", len(connections), failed, failures[:5]))
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "count":
            pipe.send(len(delays))
        elif command == "close":
            dropped = closed_early
            await _close_all(connections)
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
            pipe.send(("closed", dropped, delays, gateway_to_client))
            return


async def _close_all(connections: list[Any]) -> None:
    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE * 4)

    async def close(ws: Any) -> None:
        async with gate:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 30)

    await asyncio.gather(*(close(ws) for ws in connections))


class ClientFleet:
    """The client processes of one run."""

    def __init__(self, plans: list[ClientPlan]) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Pipe] = []
        self.processes = []
        for plan in plans:
            ours, theirs = context.Pipe()
            process = context.Process(target=_client_process, args=(plan, theirs), daemon=True)
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)

    def opened(self) -> tuple[int, int, list[str]]:
        opened = failed = 0
        reasons: list[str] = []
        for pipe in self.pipes:
            _, n, bad, why = pipe.recv()
            opened, failed, reasons = opened + n, failed + bad, reasons + why
        return opened, failed, sorted(set(reasons))[:10]

    def received(self) -> int:
        for pipe in self.pipes:
            pipe.send("count")
        return sum(pipe.recv() for pipe in self.pipes)

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self.processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = psutil.Process(process.pid).cpu_times()
                total += times.user + times.system
        return total

    def close(self) -> tuple[int, list[float], list[float]]:
        for pipe in self.pipes:
            pipe.send("close")
        dropped, delays, hop = 0, [], []
        for pipe in self.pipes:
            _, n, d, h = pipe.recv()
            dropped, delays, hop = dropped + n, delays + d, hop + h
        for process in self.processes:
            process.join(30)
        return dropped, delays, hop


def split(items: list[Any], parts: int) -> list[list[Any]]:
    return [items[i::parts] for i in range(parts) if items[i::parts]]


def wait_quiet(fleet: ClientFleet, expected: int, limit: float = 60.0) -> int:
    """Until `expected` receipts are in, or nothing new arrived for QUIET_SECONDS."""
    deadline = time.monotonic() + limit
    seen, since = fleet.received(), time.monotonic()
    while time.monotonic() < deadline and seen < expected:
        time.sleep(0.5)
        now = fleet.received()
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since > QUIET_SECONDS:
            break
    return seen


class RssWatch:
    """The gateway's resident memory, sampled every half second in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float]] = []  # (monotonic, MiB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            with contextlib.suppress(psutil.NoSuchProcess):
                self.samples.append((time.monotonic(), fp.rss_mib(self.pid)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
