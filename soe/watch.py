"""The gateway's one watch over every connection: pings, silent clients, expired tokens, and
resumes from a sequence this gateway has not read yet (soe/connections.py, Hub._hold).

One task for all connections, not two per connection: at 20,000 clients, two sleeping tasks each
cost more memory than the connection's own objects. Every connection is looked at once a round
(a second), a tenth of them every tenth of a second: the pings of a round, and the pongs that
answer them, come in ten small waves instead of one. At 20,000 clients one wave per second was
1,300 pings and, a few milliseconds later, 1,300 pongs to read, each waking its connection's
reader: tens of milliseconds in which a change read from Kafka waited.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from soe.connection import Connection
from soe.connections import Hub
from soe.messages import Ping
from soe.protocol import CloseCode
from soe.send_queue import Frame

ROUND_SECONDS = 1.0
TICKS_PER_ROUND = 10


class Watch:
    def __init__(self, hub: Hub, heartbeat_seconds: float, idle_timeout_seconds: float) -> None:
        self.hub = hub
        self.heartbeat_seconds = heartbeat_seconds
        self.idle_timeout_seconds = idle_timeout_seconds

    async def run(self) -> None:
        tick = ROUND_SECONDS / TICKS_PER_ROUND
        while True:
            connections = self.hub.connections()  # who is here as the round begins
            share = -(-len(connections) // TICKS_PER_ROUND)
            for start in range(0, share * TICKS_PER_ROUND, share or 1):
                await asyncio.sleep(tick)
                self.look_at(connections[start : start + share])
            if not connections:
                await asyncio.sleep(ROUND_SECONDS)

    async def look(self) -> None:
        """Looks at every connection at once."""
        self.look_at(self.hub.connections())

    def look_at(self, connections: Sequence[Connection]) -> None:
        """Pings those whose turn it is (one Ping encoded for all of them), and closes those
        silent for longer than the idle timeout and those whose token has expired."""
        ping: Frame | None = None
        now, wall = time.monotonic(), time.time()
        for connection in connections:
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
