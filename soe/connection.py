"""One authenticated client's connection: who it is, what it watches, and what waits to be sent.

A frame goes straight to the client's socket (soe/wire.py) while nothing of it is queued and the
socket takes writes, into the hub's write batch while one is open (soe/write_batch.py), or into
its bounded queue (soe/send_queue.py); a client whose queue is full stopped reading and is
closed, so it slows nobody else down and costs at most its queue's bound in memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Literal

from soe import metrics, wire
from soe.auth import Principal
from soe.limits import LogBudget, held_back_note
from soe.messages import Error, Outgoing
from soe.protocol import CloseCode
from soe.send_queue import Frame, SendQueue
from soe.write_batch import WriteBatch

log = logging.getLogger(__name__)

# Shared by every connection: a crowd of clients that stop reading must not flood the log either.
SLOW_CLIENT_LOG = LogBudget()


class Connection:
    """An authenticated client: who it is, what it watches, and what is waiting to be sent."""

    __slots__ = (
        "ahead",
        "closing",
        "errors",
        "follows",
        "gathered",
        "last_heard",
        "max_errors",
        "next_ping",
        "peer",
        "pending",
        "principal",
        "queue",
        "sent_sequence",
        "watching",
        "wire",
        "writes",
    )

    def __init__(
        self,
        principal: Principal,
        queue: SendQueue,
        peer: str,
        max_errors: int = 10,
        wire: wire.Wire | None = None,
        writes: WriteBatch | None = None,
    ) -> None:
        self.principal = principal
        self.peer = peer
        self.queue = queue
        # The client's socket, when the server offers it: frames are then written straight to
        # it while nothing is queued (soe/wire.py), and what was queued when it drains; without
        # it, the Session's writer task sends each.
        self.wire = wire
        if wire is not None:
            wire.when_drained = self.write_queued
        # The hub's write batch (soe/write_batch.py): while open, frames gather in `gathered`.
        self.writes = writes
        self.gathered: list[Frame] | None = None
        self.max_errors = max_errors
        self.errors = 0
        self.watching: set[str] = set()
        # Accounts asked for that the client may not watch (yet), with the sequence to resume
        # from: ones the gateway has not read yet, and other customers' (answered alike).
        self.pending: dict[str, int | None] = {}
        self.follows: Literal["own", "all"] | None = None
        # Highest sequence sent per account, so a change is never sent twice.
        self.sent_sequence: dict[str, int] = {}
        # Accounts resumed from a sequence this gateway has not read yet: the sequence and the
        # monotonic deadline to have read it by (None for almost every connection: no dict).
        self.ahead: dict[str, tuple[int, float]] | None = None
        self.closing: asyncio.Future[tuple[int | None, str]] = (
            asyncio.get_running_loop().create_future()
        )
        # Monotonic seconds: when the client was last heard, and when it is next pinged (set at
        # the welcome; the gateway's one Watch looks at both, see soe/watch.py).
        self.last_heard = time.monotonic()
        self.next_ping = 0.0

    def __repr__(self) -> str:
        return f"<connection {self.peer} subject={self.principal.subject}>"

    def send(self, message: Outgoing) -> bool:
        return self.offer(Frame.of(message))

    def offer(self, frame: Frame) -> bool:
        """Write a message now, or queue it; a client whose queue is full stopped reading and is
        closed. Straight to the socket only while nothing is queued, so nothing overtakes."""
        if self.closing.done():
            return False
        socket = self.wire
        if socket is not None and not self.queue and socket.takes_writes():
            writes = self.writes
            if writes is not None and writes.open:
                writes.add(self, frame)
            else:
                socket.write(frame.wire)
                metrics.sent(frame.kind)
            return True
        if self.queue.offer(frame):
            metrics.MESSAGES_QUEUED.inc()
            return True
        self._overflowed()
        return False

    def write_queued(self) -> None:
        """Writes what is queued, in order, while the socket takes writes: called by the socket
        each time it drains below its low-water mark, so a connection with a Wire needs no
        writer task. No other frame can be offered in between (it is one call, and a write
        batch is never open while the event loop runs the socket's callbacks)."""
        socket, queue = self.wire, self.queue
        while socket is not None and socket.takes_writes() and (frame := queue.take()) is not None:
            socket.write(frame.wire)
            metrics.sent(frame.kind)

    def refuse(self, code: str, message: str, iban: str | None = None) -> None:
        """Answer an error; it counts toward the errors that close the connection."""
        self.send(Error(code=code, message=message, iban=iban))
        self.count_error()

    def count_error(self) -> None:
        self.errors += 1
        if self.errors >= self.max_errors:
            self.request_close(
                CloseCode.POLICY_VIOLATION, f"{self.errors} refused or malformed messages"
            )

    def request_close(self, code: int | None, reason: str = "") -> None:
        """Ask the session to end; ``code`` None means the client is already gone."""
        if not self.closing.done():
            self.closing.set_result((code, reason))

    def _overflowed(self) -> None:
        metrics.QUEUE_DROPS.inc()
        held_back = SLOW_CLIENT_LOG.take()
        if held_back is not None:
            log.warning(
                "closing %r: %d messages (%d bytes) wait unsent, the client stopped reading%s",
                self,
                len(self.queue),
                self.queue.bytes,
                held_back_note(held_back),
            )
        self.queue.clear()  # the memory goes back now, not when the session has ended
        self.request_close(CloseCode.SLOW_CONSUMER, "send queue full: client not reading")
