"""The gateway's one watch over every connection: pings, silent clients, expired tokens, and
resumes from a sequence this gateway has not read yet (soe/connections.py, Hub._hold).

One task for all connections, not two per connection: at 20,000 clients, two sleeping tasks each
cost more memory than the connection's own objects. Once a second it walks the connections, a
slice at a time so a change waiting to be fanned out never waits for the whole walk.
"""

from __future__ import annotations

import asyncio
import time

from soe.connections import Hub
from soe.messages import Ping
from soe.protocol import CloseCode
from soe.send_queue import Frame

TICK_SECONDS = 1.0
# Connections looked at between two turns of the event loop.
SLICE = 1000


class Watch:
    def __init__(self, hub: Hub, heartbeat_seconds: float, idle_timeout_seconds: float) -> None:
        self.hub = hub
        self.heartbeat_seconds = heartbeat_seconds
        self.idle_timeout_seconds = idle_timeout_seconds

    async def run(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            await self.look()

    async def look(self) -> None:
        """Pings the connections whose turn it is (one Ping encoded for all of them), and closes
        those silent for longer than the idle timeout and those whose token has expired."""
        ping: Frame | None = None
        now, wall = time.monotonic(), time.time()  # once per slice: the walk takes milliseconds
        for index, connection in enumerate(self.hub.connections(), 1):
            if connection.closing.done():
                continue
            if connection.ahead:
                self.hub.settle_ahead(connection, now)
            silent = now - connection.last_heard
            if connection.principal.expires_at <= wall:
                connection.request_close(CloseCode.TOKEN_EXPIRED, "the live-feed token has expired")
            elif silent > self.idle_timeout_seconds:
                connection.request_close(
                    CloseCode.HEARTBEAT_TIMEOUT, f"nothing heard from the client for {silent:.0f} s"
                )
            elif now >= connection.next_ping:
                ping = ping or Frame.of(Ping(ts=time.time_ns() // 1_000_000))
                connection.offer(ping)
                connection.next_ping = now + self.heartbeat_seconds
            if index % SLICE == 0:
                await asyncio.sleep(0)
                now, wall = time.monotonic(), time.time()
