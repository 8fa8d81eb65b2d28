"""Frames larger than the protocol allows, compressed or not, are refused by the websocket server
itself, before sign-in, without the gateway holding them in memory."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.soe_live import Client

pytestmark = pytest.mark.integration

MIB = 2**20


async def send_before_sign_in(gateway, text: str, **options: object) -> int | None:
    """Open a connection, send one frame instead of auth; the code the gateway closes with."""
    client = await Client.open(gateway.ws, origin=gateway.origin, **options)
    with contextlib.suppress(ConnectionClosed):
        await client.send(text)
    return await client.closed_with()


def test_the_gateway_does_not_negotiate_compression_unless_told_to(gateway):
    async def scenario() -> None:
        client = await Client.open(gateway.ws, origin=gateway.origin)  # offers permessage-deflate
        assert client.ws.response.headers.get("Sec-WebSocket-Extensions") is None
        await client.close()

    asyncio.run(scenario())


def test_a_one_mib_frame_before_sign_in_is_refused_without_growing_memory(gateway):
    async def scenario() -> None:
        before = gateway.rss()
        for _ in range(10):
            assert await send_before_sign_in(gateway, "0" * MIB) == 1009
        grown = gateway.rss() - before
        assert grown < 8 * MIB, f"ten refused frames cost the gateway {grown / MIB:.0f} MiB"

    asyncio.run(scenario())


def test_a_compression_bomb_before_sign_in_is_refused_at_the_message_limit(compressing_gateway):
    """Fifteen MiB of zeros deflate to a few KiB; the server used to inflate all of it (its
    16 MiB default) before the gateway could see the frame was over 4 KiB."""
    gateway = compressing_gateway

    async def scenario() -> None:
        probe = await Client.open(gateway.ws, origin=gateway.origin)
        assert "permessage-deflate" in probe.ws.response.headers["Sec-WebSocket-Extensions"]
        await probe.close()
        before = gateway.rss()
        assert await send_before_sign_in(gateway, "0" * MIB) == 1009
        for _ in range(10):
            assert await send_before_sign_in(gateway, "0" * (15 * MIB)) == 1009
        grown = gateway.rss() - before
        assert grown < 8 * MIB, f"ten refused bombs cost the gateway {grown / MIB:.0f} MiB"

    asyncio.run(scenario())
