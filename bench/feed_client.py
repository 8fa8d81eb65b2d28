"""A lean live-feed client for the fan-out benchmark: thousands of them per process.

A general websocket client wakes a task and fills a queue for every message; at 10,000 clients
of a broadcast that is most of the machine's CPU, and the benchmark would measure itself. Here a
client is one asyncio protocol that parses the gateway's frames as they arrive and hands each
message to a callback, with the arrival time of the bytes it came in; no task per client, and
JSON read by a native parser (orjson), as a browser's JSON.parse is: the standard library's
took 7 of the 12 µs a message cost the client.

It speaks RFC 6455 as a client must (masked frames, the handshake's accept key checked, pings
and close answered) but only what the gateway sends: unfragmented frames. It offers
permessage-deflate (RFC 7692) as browsers do, and inflates what the gateway compressed when it
agreed (BANK_SOE_WS_COMPRESSION=true); its own frames go uncompressed, as the extension allows.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
import time
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import orjson

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA
RSV1 = 0x40
# What a sender of permessage-deflate strips from each message, and its reader puts back.
DEFLATE_TAIL = b"\x00\x00\xff\xff"

# (the message, epoch ms its bytes arrived)
OnMessage = Callable[[dict[str, Any], float], None]


class HandshakeFailed(Exception):
    pass


def masked(opcode: int, payload: bytes) -> bytes:
    """A client's frame: every client frame is masked (RFC 6455, section 5.3)."""
    key = os.urandom(4)
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    mask = int.from_bytes((key * (size // 4 + 1))[:size], "big")
    body = (int.from_bytes(payload, "big") ^ mask).to_bytes(size, "big") if size else b""
    return header + key + body


class FeedClient(asyncio.Protocol):
    def __init__(self, host: str, path: str, origin: str) -> None:
        self.transport: asyncio.Transport | None = None
        self._request_key = base64.b64encode(os.urandom(16))
        self._host, self._path, self._origin = host, path, origin
        self._buffer = bytearray()
        self._open: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._handshake_done = False
        # Until `listen`, messages wait here for `receive`; afterwards they go to the callback.
        self._inbox: deque[dict[str, Any]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._on_message: OnMessage | None = None
        self.close_code: int | None = None
        # permessage-deflate, when the gateway agreed to it: offered as a browser does.
        self._inflater: Any = None
        self._fresh_inflater = False

    @classmethod
    async def connect(cls, url: str, origin: str, timeout: float = 120) -> FeedClient:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        loop = asyncio.get_running_loop()
        _, client = await asyncio.wait_for(
            loop.create_connection(lambda: cls(f"{host}:{port}", parts.path, origin), host, port),
            timeout,
        )
        await asyncio.wait_for(asyncio.shield(client._open), timeout)
        return client

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(
            b"GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\n"
            b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
            % (self._path.encode(), self._host.encode(), self._request_key, self._origin.encode())
        )

    def data_received(self, data: bytes) -> None:
        arrived = time.time() * 1000
        if self._buffer or not self._handshake_done:  # a frame or the handshake began earlier
            buffer = self._buffer
            buffer += data
            if not self._handshake_done and not self._handshake(buffer):
                return
            data = bytes(buffer)
            buffer.clear()
        # Most reads hold whole frames: parsed from the bytes as they came, without a copy.
        view = memoryview(data)
        position, end_of_data = 0, len(data)
        while end_of_data - position >= 2:
            first, second = data[position], data[position + 1]
            size, start = second & 0x7F, position + 2
            if size == 126:
                if end_of_data - position < 4:
                    break
                size, start = int.from_bytes(data[position + 2 : position + 4], "big"), start + 2
            elif size == 127:
                if end_of_data - position < 10:
                    break
                size, start = int.from_bytes(data[position + 2 : position + 10], "big"), start + 8
            if end_of_data < start + size:
                break
            if second & 0x80 or not first & 0x80:
                self._fail("a masked or fragmented frame from the server")
                return
            payload = view[start : start + size]
            position = start + size
            opcode = first & 0x0F
            if opcode == TEXT:
                if first & RSV1:  # compressed (permessage-deflate, RFC 7692)
                    payload = self._inflate(payload)
                self._deliver(orjson.loads(payload), arrived)
            elif opcode == PING:
                self.transport.write(masked(PONG, bytes(payload)))  # type: ignore[union-attr]
            elif opcode == CLOSE:
                payload = bytes(payload)
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                self.transport.write(masked(CLOSE, payload[:2]))  # type: ignore[union-attr]
                self.transport.close()  # type: ignore[union-attr]
                return
        if position < end_of_data:
            self._buffer += view[position:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._open.done():
            self._open.set_exception(HandshakeFailed(f"connection lost: {exc}"))
        if not self._closed.done():
            self._closed.set_result(self.close_code)
        self._wake()

    # -- the client's side ----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed.done()

    def send(self, message: dict[str, Any]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(masked(TEXT, orjson.dumps(message)))

    async def receive(self) -> dict[str, Any]:
        """The next message (before `listen`)."""
        while not self._inbox:
            if self._closed.done():
                raise HandshakeFailed(f"closed by the gateway ({self.close_code})")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._inbox.popleft()

    def listen(self, on_message: OnMessage) -> None:
        """From now on each message goes to ``on_message`` as its bytes arrive."""
        self._on_message = on_message
        while self._inbox:
            on_message(self._inbox.popleft(), time.time() * 1000)

    async def close(self, timeout: float = 30) -> None:
        """The close handshake: our close frame, then the gateway's answer (or the timeout)."""
        if self.transport is None or self._closed.done():
            return
        self.transport.write(masked(CLOSE, (1000).to_bytes(2, "big")))
        try:
            await asyncio.wait_for(asyncio.shield(self._closed), timeout)
        except TimeoutError:
            self.transport.abort()

    # -- inside -------------------------------------------------------------------------------

    def _handshake(self, buffer: bytearray) -> bool:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        del buffer[: end + 4]
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in head[1:])
        }
        expected = base64.b64encode(hashlib.sha1(self._request_key + GUID).digest()).decode()
        if head[0].split()[1:2] != ["101"] or headers.get("sec-websocket-accept") != expected:
            self._fail(f"handshake refused: {head[0]}")
            return False
        offered = headers.get("sec-websocket-extensions", "")
        if "permessage-deflate" in offered:
            self._inflater = zlib.decompressobj(wbits=-15)
            self._fresh_inflater = "server_no_context_takeover" in offered
        self._handshake_done = True
        self._open.set_result(None)
        return True

    def _inflate(self, payload: memoryview) -> bytes:
        if self._inflater is None:
            raise HandshakeFailed("a compressed frame on a connection that did not agree to it")
        if self._fresh_inflater:
            self._inflater = zlib.decompressobj(wbits=-15)
        return self._inflater.decompress(bytes(payload) + DEFLATE_TAIL)

    def _deliver(self, message: dict[str, Any], arrived: float) -> None:
        if self._on_message is not None:
            self._on_message(message, arrived)
        else:
            self._inbox.append(message)
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, why: str) -> None:
        if not self._open.done():
            self._open.set_exception(HandshakeFailed(why))
        if self.transport is not None:
            self.transport.abort()
