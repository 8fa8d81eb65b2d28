"""Helpers for the gateway's integration tests: real Kafka, a real gateway, real websockets."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Producer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from events import codec
from events.topics import DerivedTopics
from kernel import live_token

RECEIVE_TIMEOUT = 15.0
IDLE_TIMEOUT_SECONDS = 2  # of the impatient test gateway
SEND_QUEUE_MESSAGES = 64  # of the test gateways: the smallest send queue allowed


def new_iban() -> str:
    return f"DE{secrets.randbelow(90) + 10}{secrets.randbelow(10**18):018d}"


def new_customer_id() -> int:
    return 10**9 + secrets.randbelow(10**9)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Minter:
    """Mints live-feed tokens as the system of record does, with a key made for the tests."""

    key: Ed25519PrivateKey

    def token(
        self, customer_id: int | None, *, staff: bool = False, ttl: float = 300, **claims: Any
    ) -> str:
        now = int(time.time())
        body = live_token.claims(
            subject="clerk" if staff else f"customer-{customer_id}",
            customer_id=customer_id,
            staff=staff,
            issued_at=now,
            expires_at=int(now + ttl),
        )
        return live_token.sign({**body, **claims}, self.key)


@dataclass
class Ledger:
    """Writes the derived events the system of integration would, for accounts of one test, into
    the test session's scratch topics (never the bank's own)."""

    producer: Producer
    topics: DerivedTopics
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def open_account(
        self, customer_id: int, *, balance: int = 10_000, iban: str | None = None
    ) -> str:
        iban = iban or new_iban()
        state = {
            "iban": iban,
            "account_id": secrets.randbelow(10**9),
            "customer_id": customer_id,
            "currency": "EUR",
            "balance": balance,
            "status": "open",
            "sequence": 0,
            "updated_at": now_ms(),
            "event_id": f"test:{uuid.uuid4().hex}",
        }
        self.accounts[iban] = state
        self._send(self.topics.balances, iban, codec.encode("account_balance", state))
        return iban

    def change(self, iban: str, delta: int, *, reason: str = "test movement") -> dict[str, Any]:
        state = self.accounts[iban]
        old = state["balance"]
        state["balance"] = old + delta
        state["sequence"] += 1
        committed = now_ms()
        event = {
            "event_id": f"test:{uuid.uuid4().hex}",
            "iban": iban,
            "account_id": state["account_id"],
            "customer_id": state["customer_id"],
            "currency": state["currency"],
            "old_balance": old,
            "new_balance": state["balance"],
            "delta": delta,
            "sequence": state["sequence"],
            "committed_at": committed,
            "captured_at": committed,
            "derived_at": committed,
            "source_file": "test-bin.000001",
            "source_pos": state["sequence"],
            "source_row": 0,
            "gtid": None,
            "kind": "deposit" if delta >= 0 else "withdrawal",
            "reason": reason,
            "clerk": "clerk",
            "ledger_entry_id": None,
            "ledger_match": "none",
        }
        self._send(self.topics.balance_changed, iban, codec.encode("balance_changed", event))
        return event

    def publish_state(self, iban: str, **changes: Any) -> None:
        self.accounts[iban].update(changes)
        state = self.accounts[iban]
        self._send(self.topics.balances, iban, codec.encode("account_balance", state))

    def alert(self, iban: str, kind: str = "low_balance") -> dict[str, Any]:
        state = self.accounts[iban]
        alert = {
            "alert_id": f"test:{uuid.uuid4().hex}:{kind}",
            "kind": kind,
            "customer_id": state["customer_id"],
            "iban": iban,
            "currency": state["currency"],
            "balance": state["balance"],
            "amount": None,
            "threshold": 1000,
            "message": "Your balance is low",
            "raised_at": now_ms(),
        }
        key = str(state["customer_id"])
        self._send(self.topics.alerts, key, codec.encode("alert", alert))
        return alert

    def send_raw(self, topic: str, key: str, value: bytes | None) -> None:
        self._send(topic, key, value)

    def delete(self, iban: str) -> None:
        self._send(self.topics.balances, iban, None)
        self.accounts.pop(iban, None)

    def close(self) -> None:
        for iban in list(self.accounts):
            self.delete(iban)
        self.producer.flush(10)

    def _send(self, topic: str, key: str, value: bytes | None) -> None:
        self.producer.produce(topic, key=key.encode(), value=value)
        self.producer.poll(0)

    def flush(self) -> None:
        assert self.producer.flush(10) == 0, "Kafka did not take every test record in 10 s"


class Client:
    """A websocket client of the live feed that speaks the protocol and remembers what it got."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str, *, origin: str | None = None, **options: Any) -> Client:
        return cls(await connect(url, origin=origin, **options))  # type: ignore[arg-type]

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def receive(self, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
        """The next message that is not a heartbeat."""
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message["type"] == "ping":
                await self.send({"type": "pong", "ts": message["ts"]})
                continue
            return message

    async def answer_heartbeats_for(self, seconds: float) -> None:
        """Answer the gateway's pings for ``seconds``; anything else is unexpected.

        The deadline is checked between messages rather than imposed by cancelling a receive:
        on Python 3.11 ``wait_for`` can swallow a cancellation that races with a message, and
        with a ping every second the receive loop then never ended."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(await asyncio.wait_for(self.ws.recv(), left))
            except TimeoutError:
                return
            assert message["type"] == "ping", f"only heartbeats were expected, got {message}"
            await self.send({"type": "pong", "ts": message["ts"]})

    async def authenticate(self, token: str) -> dict[str, Any]:
        await self.send({"type": "auth", "token": token})
        welcome = await self.receive()
        assert welcome["type"] == "welcome", welcome
        return welcome

    async def subscribe(self, **request: Any) -> list[dict[str, Any]]:
        """Send a subscribe and return every message up to and including ``subscribed``."""
        await self.send({"type": "subscribe", **request})
        return await self.until("subscribed")

    async def subscribe_when_known(
        self, accounts: list[str], **request: Any
    ) -> list[dict[str, Any]]:
        """Subscribe, waiting out accounts the gateway has not read yet; their snapshots."""
        replies = await self.subscribe(accounts=accounts, **request)
        snapshots = {m["iban"]: m for m in replies if m["type"] == "snapshot"}
        while set(snapshots) != set(accounts):
            message = await self.receive()
            if message["type"] == "snapshot":
                snapshots[message["iban"]] = message
            elif message["type"] == "error":
                raise AssertionError(f"the gateway refused: {message}")
        return [snapshots[iban] for iban in accounts]

    async def until(self, message_type: str) -> list[dict[str, Any]]:
        received = []
        while True:
            message = await self.receive()
            received.append(message)
            if message["type"] == message_type:
                return received

    async def changes(self, iban: str, count: int) -> list[dict[str, Any]]:
        """The next ``count`` balance changes of one account (other messages are kept out)."""
        received: list[dict[str, Any]] = []
        while len(received) < count:
            message = await self.receive()
            if message["type"] == "balance_changed" and message["iban"] == iban:
                received.append(message)
        return received

    async def closed_with(self, timeout: float = RECEIVE_TIMEOUT) -> int | None:
        """Read until the gateway closes the connection; the close code it sent."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    async def close(self) -> None:
        await self.ws.close()


def sequences(messages: Iterable[dict[str, Any]]) -> list[int]:
    return [m["sequence"] for m in messages]


def tiny_receive_buffer(port: int) -> socket.socket:
    """A client socket that holds little unread data, so a client that stops reading is found
    out quickly; the gateway's own buffers still absorb several megabytes first."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock
