"""The fan-out benchmark: thousands of live-feed clients on one gateway.

Two shapes: *broadcast*, every client watching the same few accounts (a dashboard on many
screens), and *spread*, client i watching bench account i mod the accounts (changes flowing over
all of them). The clients run in several processes of their own (multiprocessing), so the
benchmark's process is not the bottleneck, and their CPU is reported.

The gateway is one of the benchmark's own: ``python -m soe`` on a free port against the stack's
Kafka, checking tokens signed by a key made for the run (a run can outlast the bank's 15-minute
tokens: 10,000 handshakes on a loaded machine took 19 minutes), with its connection limits
raised by configuration for the run (the stack's gateway keeps its production limits) and its
open-files limit raised to fit.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

import httpx
import jwt
import psutil
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

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


# The benchmark's tokens outlive its longest run (20,000 handshakes on a loaded machine).
TOKEN_SECONDS = 4 * 3600


class KeptConnection:
    """One HTTP connection to the gateway, kept open from before the clients connect.

    At 20,000 clients the gateway holds every file its open-files limit allows (the
    container's hard limit): a new connection for /metrics would then be refused. This one is
    asked for /health every KEEP_ALIVE_SECONDS, within uvicorn's 5-s keep-alive, so it stays.
    """

    KEEP_ALIVE_SECONDS = 2.0

    def __init__(self, url: str) -> None:
        self.url = url
        self._client = httpx.Client(base_url=url, timeout=10)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep_alive, daemon=True)
        self._thread.start()

    def get(self, path: str) -> str | None:
        """The answer's text, or None when the gateway did not answer."""
        with self._lock:
            try:
                return self._client.get(path).text
            except httpx.HTTPError:
                return None

    def _keep_alive(self) -> None:
        while not self._stop.wait(self.KEEP_ALIVE_SECONDS):
            self.get("/health")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._client.close()


@dataclass
class BenchGateway:
    url: str
    pid: int
    env: dict[str, str]
    signing_key: Ed25519PrivateKey
    http: KeptConnection

    def token(self) -> str:
        """A staff live-feed token of the clerk, as the system of record mints them
        (sor/bank/live_tokens.py), signed with the run's own key."""
        now = int(time.time())
        claims = {
            "sub": "clerk",
            "customer_id": None,
            "scope": "feed:all",
            "iat": now,
            "exp": now + TOKEN_SECONDS,
            "jti": os.urandom(16).hex(),
        }
        return jwt.encode(claims, self.signing_key, algorithm="EdDSA")

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1) + "/ws"


@contextlib.contextmanager
def bench_gateway(
    config: Settings,
    clients: int,
    port: int,
    extra_env: dict[str, str] | None = None,
) -> Iterator[BenchGateway]:
    url = f"http://{config.host}:{port}"
    signing_key = Ed25519PrivateKey.generate()
    public_pem = signing_key.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    env = {
        **gateway_limits(clients),
        "BANK_DASHBOARD_ORIGINS": url,
        "BANK_SOE_CLIENT_MESSAGES_PER_SECOND": "10",
        **(extra_env or {}),
    }
    secrets = {"BANK_LIVE_TOKEN_PUBLIC_KEY": public_pem.decode()}
    log_path = config.path("logs", f"bench-fanout-gateway-{port}.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = ["-m", "soe", f"--host={config.host}", f"--port={port}"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, *command],
            cwd=REPO_ROOT,
            env={**os.environ, **env, **secrets},
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
        http = KeptConnection(url)
        try:
            yield BenchGateway(url, process.pid, env, signing_key, http)
        finally:
            http.close()
    finally:
        stop(process, 30)


@contextlib.contextmanager
def sampled_profile(pid: int, path: Path, seconds: float) -> Iterator[None]:
    """py-spy samples the gateway from outside (100 per second, without stopping it) for the
    block's duration, at most ``seconds``; collapsed stacks, one line per stack with its count,
    with idle time (the gateway waiting in epoll) included. A profiler inside the gateway
    (cProfile) would slow every Python call it times, the fan-out's most of all."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    command = [spy, "record", "--pid", str(pid), "--rate", "100", "--nonblocking", "--idle"]
    command += ["--format", "raw", "--duration", str(int(seconds) + 1), "--output", str(path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        # py-spy writes what it sampled when interrupted, as when its duration ends.
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(30)
        if process.poll() is None:
            stop(process, 5)


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
    try:  # the event loop the gateway runs on too (uvicorn picks it when installed)
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_clients(plan, pipe))


async def _clients(plan: ClientPlan, pipe: Pipe) -> None:
    from bench.feed_client import FeedClient  # in the child only

    delays: list[float] = []  # commit -> received, ms
    gateway_to_client: list[float] = []  # sent_at -> received, ms
    # Per change, once: (committed, captured, derived, sent) epoch ms, the same on every client.
    stamps: dict[tuple[str, int], tuple[int, int, int, int]] = {}
    connections: list[FeedClient] = []
    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)

    def listener(client: FeedClient, watched: frozenset[str]) -> Any:
        def on_message(message: dict[str, Any], received: float) -> None:
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
                    key = (message["iban"], message["sequence"])
                    if key not in stamps:
                        stamps[key] = (
                            committed,
                            message["captured_at"],
                            message["derived_at"],
                            message["sent_at"],
                        )
            elif kind == "ping":
                client.send({"type": "pong", "ts": message.get("ts")})

        return on_message

    async def one(ibans: list[str]) -> None:
        async with gate:
            client = await FeedClient.connect(plan.url, plan.origin)
            client.send({"type": "auth", "token": plan.token})
            welcome = await client.receive()
            if welcome.get("type") != "welcome":
                await client.close()
                raise RuntimeError(f"refused: {welcome.get('code')}")
            client.send({"type": "subscribe", "accounts": ibans})
            while (await client.receive()).get("type") != "subscribed":
                pass  # the snapshots come first
            connections.append(client)
            client.listen(listener(client, frozenset(ibans)))

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
            dropped = sum(1 for client in connections if client.closed)
            await _close_all(connections)
            pipe.send(("closed", dropped, delays, gateway_to_client, stamps))
            return


async def _close_all(connections: list[Any]) -> None:
    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE * 4)

    async def close(client: Any) -> None:
        async with gate:
            with contextlib.suppress(Exception):
                await client.close()

    await asyncio.gather(*(close(client) for client in connections))


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

    def close(self) -> tuple[int, list[float], list[float], dict[tuple[str, int], tuple]]:
        """Closes every client: (clients the gateway had dropped, commit→client delays,
        queued→client delays, each change's pipeline stamps)."""
        for pipe in self.pipes:
            pipe.send("close")
        dropped, delays, hop, stamps = 0, [], [], {}
        for pipe in self.pipes:
            _, n, d, h, s = pipe.recv()
            dropped, delays, hop = dropped + n, delays + d, hop + h
            stamps.update(s)
        for process in self.processes:
            process.join(30)
        return dropped, delays, hop, stamps


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
