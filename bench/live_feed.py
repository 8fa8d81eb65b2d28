"""A websocket client of the gateway's live feed, as the dashboard uses it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from kernel.settings import Settings
from sor.bank.live_tokens import mint, signing_key
from sor.config import SystemOfRecordSettings


def customer_token(config: Settings, customer_id: int, ttl_seconds: int = 300) -> str:
    """A live-feed token for a test's own customer, who has no dashboard sign-in: minted with the
    system of record's own key and code, as its sign-in would mint it."""
    key = signing_key(
        SystemOfRecordSettings.load().live_token_private_key,
        config.path("keys", "live-token-ed25519.pem"),
    )
    subject = f"test-customer-{customer_id}"
    token = mint(
        key, subject=subject, customer_id=customer_id, staff=False, ttl_seconds=ttl_seconds
    )
    return token.token


class LiveFeed:
    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(
        cls,
        config: Settings,
        token: str,
        accounts: list[str],
        resume: dict[str, int] | None = None,
    ) -> LiveFeed:
        """Signs in and subscribes; `resume` (IBAN: last sequence seen) asks for what was missed."""
        connection = await websockets.connect(
            config.soe_url.replace("http", "ws", 1) + "/ws", origin=config.soe_url
        )
        feed = cls(connection)
        await feed.send({"type": "auth", "token": token})
        subscribe: dict[str, Any] = {"type": "subscribe", "accounts": accounts}
        if resume:
            subscribe["resume"] = resume
        await feed.send(subscribe)
        return feed

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        return json.loads(await self.connection.recv())

    async def next_matching(self, type_: str, iban: str, timeout: float = 30) -> dict[str, Any]:
        """The next message of the type about the IBAN; other messages are passed over."""

        async def receive() -> dict[str, Any]:
            while True:
                message = await self.receive()
                if message.get("type") == type_ and message.get("iban") == iban:
                    return message

        return await asyncio.wait_for(receive(), timeout)

    async def close(self) -> None:
        await self.connection.close()
