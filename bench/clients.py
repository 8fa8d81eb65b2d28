"""Clients that record when each change reaches them: live-feed websockets and REST pollers.

All of them live in this one process, on loopback. A receipt is the timing fields of one
``balance_changed`` (see docs/live-feed-protocol.md) plus ``received_at``, this process's clock
in epoch milliseconds when the frame was read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import httpx
import websockets
from websockets.exceptions import ConnectionClosed

from bench.hops import polled_delay
from soe.protocol import MAX_ACCOUNTS_PER_SUBSCRIBE

TIMING_FIELDS = ("committed_at", "captured_at", "derived_at", "sent_at")
HANDSHAKES_AT_ONCE = 100


def now_ms() -> float:
    return time.time() * 1000


def raise_open_files_limit() -> int:
    """Raises this process's soft limit of open files to its hard limit, and returns it: each
    client is one socket."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class FeedClient:
    """One websocket viewer. With a token it speaks the gateway's protocol (auth, subscribe,
    pong); without, it only subscribes, as the consumer-per-connection variant expects."""

    def __init__(
        self,
        url: str,
        origin: str,
        token: str | None,
        sink: list[dict[str, Any]],
        ibans: Iterable[str],
        since_ms: float = 0,
        watch_all: bool = False,
    ) -> None:
        self.url, self.origin, self.token = url, origin, token
        self.sink = sink
        self.ibans = set(ibans)  # only these accounts' changes are recorded
        self.since_ms = since_ms
        self.watch_all = watch_all  # staff: may watch more than a customer's accounts
        self.close_code: int | None = None
        self._connection: websockets.ClientConnection | None = None
        self._task: asyncio.Task | None = None

    async def open(self) -> None:
        self._connection = await websockets.connect(
            self.url, origin=self.origin, open_timeout=60, ping_interval=None, max_queue=None
        )
        if self.token is not None:
            await self._send({"type": "auth", "token": self.token})
            welcome = json.loads(await self._connection.recv())
            if welcome.get("type") != "welcome":
                raise RuntimeError(f"the gateway refused the bench client: {welcome}")
        # The gateway takes at most 100 accounts a subscribe and bounds what it queues for one
        # connection: subscribe a hundred at a time, reading each hundred's snapshots first.
        ibans = sorted(self.ibans)
        for start in range(0, len(ibans), MAX_ACCOUNTS_PER_SUBSCRIBE):
            chunk = ibans[start : start + MAX_ACCOUNTS_PER_SUBSCRIBE]
            await self._send({"type": "subscribe", "accounts": chunk})
            while json.loads(await self._connection.recv()).get("type") != "subscribed":
                pass  # snapshots of the accounts come first
        self._task = asyncio.create_task(self._listen())

    async def _send(self, message: dict[str, Any]) -> None:
        assert self._connection is not None
        await self._connection.send(json.dumps(message))

    async def _listen(self) -> None:
        assert self._connection is not None
        try:
            async for frame in self._connection:
                received_at = now_ms()
                message = json.loads(frame)
                kind = message.get("type")
                if kind == "ping":
                    await self._send({"type": "pong", "ts": message.get("ts")})
                elif kind == "balance_changed" and self._counts(message):
                    timing = {name: message.get(name) for name in TIMING_FIELDS}
                    self.sink.append({**timing, "received_at": received_at})
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else None

    def _counts(self, message: dict[str, Any]) -> bool:
        if message.get("replayed") or (message.get("committed_at") or 0) < self.since_ms:
            return False
        return message.get("iban") in self.ibans

    async def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def open_clients(
    count: int,
    make: Callable[[int], FeedClient],
    on_progress: Callable[[int], None] | None = None,
) -> tuple[list[FeedClient], list[str]]:
    """`count` clients, `HANDSHAKES_AT_ONCE` handshakes in flight at a time; returns those that
    connected and why the others did not."""
    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
    opened = 0

    async def one(index: int) -> FeedClient:
        nonlocal opened
        async with gate:
            client = make(index)
            try:
                await client.open()
            except BaseException:
                await client.close()
                raise
            opened += 1
            if on_progress is not None:
                on_progress(opened)
            return client

    results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    clients = [r for r in results if isinstance(r, FeedClient)]
    failures = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    return clients, failures


async def close_clients(clients: list[FeedClient]) -> None:
    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE * 5)

    async def one(client: FeedClient) -> None:
        async with gate:
            await client.close()

    await asyncio.gather(*(one(c) for c in clients))


class Poller:
    """A viewer polling one account over the REST API once a second, as a page with a timer
    would: records how long after its commit each change was first seen."""

    def __init__(self, http: httpx.AsyncClient, iban: str, delays: list[float]) -> None:
        self.http, self.iban, self.delays = http, iban, delays
        self.requests = 0
        self.failures = 0

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        seen_version = None
        while not stop.is_set():
            asked = time.monotonic()
            try:
                response = await self.http.get(f"/api/accounts/{self.iban}/")
                received_at = now_ms()
                response.raise_for_status()
                account = response.json()
                self.requests += 1
                if seen_version is not None and account["version"] != seen_version:
                    self.delays.append(polled_delay(received_at, _epoch_ms(account["updated_at"])))
                seen_version = account["version"]
            except httpx.HTTPError:
                self.failures += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, interval - (time.monotonic() - asked)))


def _epoch_ms(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000
