"""The frames a gateway sends and one websocket's bounded queue of them.

Fan-out never waits: a frame is written straight to a client's socket or appended to its queue,
bounded in messages and in bytes, so what one client does not read can never cost more than that.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

from soe import metrics, wire
from soe.messages import Outgoing
from soe.protocol import stamp_sent_at


@dataclass(frozen=True, slots=True)
class Frame:
    """One encoded message, ``sent_at`` included, as a whole websocket frame: built once, however
    many clients it goes to, and written to each as it is."""

    wire: bytes  # header and payload (soe/wire.py)
    kind: str
    size: int  # of the payload: what the send queue's bound counts

    @classmethod
    def of(cls, message: Outgoing) -> Frame:
        return cls.of_text(
            stamp_sent_at(message.encode(), time.time_ns() // 1_000_000), message.type
        )

    @classmethod
    def of_text(cls, text: str, kind: str) -> Frame:
        payload = text.encode()
        return cls(wire.text_frame(payload), kind, len(payload))

    @property
    def text(self) -> str:
        """The payload, for a connection written through ASGI (no Wire)."""
        return self.wire[len(self.wire) - self.size :].decode()


class SendQueue:
    """Every message waiting for one client, live ones and replies alike, bounded in messages and
    in bytes: what one client does not read can never cost more than that."""

    __slots__ = ("_bytes", "_items", "_waiter", "max_bytes", "max_messages")

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._items: deque[Frame] = deque()
        self._bytes = 0
        # The writer's future while it waits; one future, not an asyncio.Event: a connection
        # has exactly one writer, and each connection's objects count at 20,000 of them.
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes

    def has_room(self, messages: int, size: int) -> bool:
        return (
            len(self._items) + messages <= self.max_messages
            and self._bytes + size <= self.max_bytes
        )

    def offer(self, frame: Frame) -> bool:
        """Queue one message; False, queuing nothing, when it does not fit."""
        if not self.has_room(1, frame.size):
            return False
        self._items.append(frame)
        self._bytes += frame.size
        metrics.record_send_queue(len(self._items), self._bytes)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return True

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0

    def take(self) -> Frame | None:
        """The oldest message, or None when there is none."""
        if not self._items:
            return None
        frame = self._items.popleft()
        self._bytes -= frame.size
        return frame

    async def wait(self) -> None:
        """Returns once something is queued."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def get(self) -> Frame:
        while (frame := self.take()) is None:
            await self.wait()
        return frame
