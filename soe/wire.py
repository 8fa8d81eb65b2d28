"""The frame-once path: a message's websocket frame is built once and written as it is to every
client's socket, without a task wake-up or an ASGI send per client.

A frame from server to client is not masked (RFC 6455, section 5.1), so with compression off the
bytes of one text frame, header and payload, are the same on every connection. The websocket
server offers each connection's socket to the application as an ASGI extension (``EXTENSION``;
soe/ws_server.py); a connection without it (the older ``websockets`` server, or a connection that
negotiated compression) is written through ASGI as before.

Order is kept by one rule: a frame goes straight to the socket only when nothing of that
connection is queued and its socket takes writes now (flow control: the transport is below its
high-water mark). Otherwise it is queued, and from then on every later frame queues behind it
until the queue is written out, frame by frame, when the socket drains (``when_drained``), in
one call that nothing can interleave with. So every frame is either written or queued, in the
order offered.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any, Protocol

from websockets.frames import Frame, Opcode

# The key under the ASGI scope's "extensions" where the server puts a connection's Wire.
EXTENSION = "bank.wire"


class Wire(Protocol):
    """One client's socket, as the frame-once path writes to it."""

    def takes_writes(self) -> bool:
        """Open, not closing, and below its write high-water mark: a write goes out now."""
        ...

    def closed(self) -> bool:
        """Gone, or closing: nothing more may be written."""
        ...

    def write(self, frame: bytes) -> None:
        """Writes a whole frame; never waits (the transport buffers what the socket refuses)."""
        ...

    # Called each time the socket drains below its low-water mark after a pause: the
    # connection then writes what it queued meanwhile (soe/connection.py), with no task of its
    # own waiting for that moment.
    when_drained: Callable[[], None] | None


def text_frame(payload: bytes) -> bytes:
    """A whole, unmasked, uncompressed text frame (header and payload), valid on any connection
    that negotiated no extension."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False)


def wire_of(scope: MutableMapping[str, Any]) -> Wire | None:
    """The connection's Wire, when its server offers one."""
    extensions = scope.get("extensions") or {}
    return extensions.get(EXTENSION)
