"""uvicorn's sansio websocket server, with the write flow control it lacks.

uvicorn 0.38's ``websockets-sansio`` server holds no task of its own per connection (the older
``websockets`` one holds three), but it never stops a sender: its ``writable`` event is never
cleared, so frames for a client that stopped reading pile up in the transport's buffer without
bound and the gateway's bounded send queue (soe/connections.py) never fills. Here the transport's
high-water mark pauses the connection's writer, as asyncio intends: the frames then wait in the
send queue, whose bound closes the slow client (4008).

Each connection is also the application's Wire (soe/wire.py), offered in the ASGI scope's
extensions when it negotiated no compression: the gateway writes a change's frame, built once,
straight to the transport while the transport takes writes, and what it queued meanwhile when
the transport drains (``when_drained``, called from ``resume_writing``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.frames import Frame
from websockets.http11 import Request

from soe import wire

# Bytes the transport may hold unsent per connection before the writer waits; above the largest
# frame (a snapshot) so a reading client never waits, and far below the send queue's bound.
WRITE_HIGH_WATER = 64 * 1024
WRITE_LOW_WATER = 16 * 1024
# How long a closed connection waits for the client's answering close frame.
CLOSE_TIMEOUT_SECONDS = 10.0


class FlowControlledSansIO(WebSocketsSansIOProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER, low=WRITE_LOW_WATER)  # type: ignore[attr-defined]
        self.when_drained: Callable[[], None] | None = None
        self.paused = False

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # Compressed frames depend on each connection's own compression state: not shared.
        if self.response.status_code == 101 and not self.conn.extensions:
            self.scope["extensions"][wire.EXTENSION] = self

    # -- soe.wire.Wire -----------------------------------------------------------------------

    def takes_writes(self) -> bool:
        return not self.paused and not self.close_sent and not self.transport.is_closing()

    def closed(self) -> bool:
        return self.close_sent or self.transport.is_closing()

    def write(self, frame: bytes) -> None:
        self.transport.write(frame)

    # -- flow control --------------------------------------------------------------------------

    def pause_writing(self) -> None:
        self.paused = True  # what takes_writes reads: a plain flag, read once per client per frame
        self.writable.clear()

    def resume_writing(self) -> None:
        self.paused = False
        self.writable.set()
        if self.when_drained is not None:
            self.when_drained()

    async def send(self, message: ASGISendEvent) -> None:
        if (
            message["type"] != "websocket.close"
            or not self.handshake_complete
            or self.close_sent
            or self.initial_response is not None
            or self.transport.is_closing()
        ):
            await super().send(message)
            if message["type"] == "websocket.accept" and self.handshake_complete:
                # The handshake's request and response (headers and all) are not read again;
                # they would otherwise live as long as the connection.
                del self.request, self.response
            return
        # uvicorn's own close drops the TCP connection at once: a client still sending then gets
        # a reset and never reads why it was closed. Here the close frame goes after the frames
        # already buffered, however full the buffer, and the connection is read (and what comes
        # discarded) until the client answers the close, as the websocket protocol asks.
        code = message.get("code", 1000)
        reason = message.get("reason", "") or ""
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        try:
            self.conn.send_close(code, reason)
        except InvalidState:
            raise ClientDisconnected() from None
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.loop.call_later(CLOSE_TIMEOUT_SECONDS, self.transport.close)

    def shutdown(self) -> None:
        # uvicorn's own sends a close frame, which raises (and ends the whole server's shutdown
        # with an error) on a connection whose close handshake has begun: that one just ends.
        if self.close_sent or self.conn.close_sent is not None:
            self.transport.close()
        else:
            super().shutdown()

    def handle_text(self, event: Frame) -> None:
        if not self.close_sent:
            super().handle_text(event)

    def handle_bytes(self, event: Frame) -> None:
        if not self.close_sent:
            super().handle_bytes(event)

    def handle_close(self, event: Frame) -> None:
        if self.close_sent:  # the client's answer: the close handshake is done
            self.transport.close()
        else:
            super().handle_close(event)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.writable.set()  # a writer still waiting finds the connection gone
