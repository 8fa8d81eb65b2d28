"""The benchmark's lean websocket client (bench/feed_client.py) reads every frame the gateway
writes, however the bytes are split between reads."""

import asyncio
import base64
import hashlib
import json
import random
import struct
import zlib

import pytest
from websockets.frames import Frame, Opcode

from bench.feed_client import DEFLATE_TAIL, GUID, FeedClient

pytestmark = pytest.mark.unit


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def abort(self) -> None:
        raise AssertionError("the client gave up on a valid stream")


def compressed_text_frame(payload: bytes) -> bytes:
    """A server's text frame with RSV1 set (RFC 7692), which websockets' Frame will not write
    without its extension objects."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0xC1, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0xC1, 126, size)
    else:
        header = struct.pack("!BBQ", 0xC1, 127, size)
    return header + payload


def server_bytes(client: FeedClient, messages: list[dict], compressed: bool = False) -> bytes:
    """The gateway's handshake answer, then its frames: compressed with one deflate stream
    for the connection (context takeover) when ``compressed``."""
    accept = base64.b64encode(hashlib.sha1(client._request_key + GUID).digest())
    agreed = b"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12\r\n"
    handshake = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n" + (agreed if compressed else b"") + b"\r\n"
    )
    deflate = zlib.compressobj(wbits=-12)
    frames = []
    for message in messages:
        data = json.dumps(message).encode()
        if compressed:
            data = deflate.compress(data) + deflate.flush(zlib.Z_SYNC_FLUSH)
            assert data.endswith(DEFLATE_TAIL)
            frames.append(compressed_text_frame(data[:-4]))
        else:
            frames.append(Frame(Opcode.TEXT, data).serialize(mask=False))
    ping = Frame(Opcode.PING, b"hi").serialize(mask=False)
    return handshake + b"".join(frames[:2]) + ping + b"".join(frames[2:])


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("seed", range(10))
def test_every_message_is_read_once_in_order_however_the_reads_split_the_bytes(seed, compressed):
    chance = random.Random(seed)
    # Short, medium (16-bit length) and long (64-bit length) frames.
    messages = [{"n": n, "pad": "x" * chance.choice([1, 200, 70_000])} for n in range(12)]

    async def scenario() -> None:
        client = FeedClient("127.0.0.1:1", "/ws", "http://origin")
        transport = Transport()
        client.connection_made(transport)  # type: ignore[arg-type]
        assert b"permessage-deflate" in transport.written[0]  # offered, as a browser does
        received: list[int] = []
        client.listen(lambda message, arrived: received.append(message["n"]))
        data = server_bytes(client, messages, compressed)
        position = 0
        while position < len(data):
            step = chance.choice([1, 2, 3, 7, 100, 5000, 100_000])
            client.data_received(data[position : position + step])
            position += step
        assert received == list(range(12))
        pongs = [w for w in transport.written[1:] if w[0] & 0x0F == 0xA]
        assert len(pongs) == 1  # the ping answered

    asyncio.run(scenario())
