"""A broadcast: two thousand screens watching the same accounts each see every change, once,
in order (issue 16). Not timed: the fan-out benchmark measures how fast (bench/fanout.py)."""

from __future__ import annotations

import asyncio
import json
import resource
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.soe_live import Client, new_customer_id

pytestmark = pytest.mark.integration

SCREENS = 2000
CHANGES = 30
CONNECTING_AT_ONCE = 100  # below the gateway's BANK_SOE_MAX_UNAUTHENTICATED of the tests


def allow_open_files(wanted: int) -> None:
    """Each screen is one socket of this process: the usual soft limit (1,024) is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= wanted, "raise the hard limit"


class Screen:
    """One client reading from the moment it is connected: answers the gateway's pings (the
    others are still connecting) and keeps every balance change it is sent."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.changes: list[dict[str, Any]] = []
        self.closed: int | None = None
        self.task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        try:
            async for frame in self.client.ws:
                message = json.loads(frame)
                if message["type"] == "ping":
                    await self.client.send({"type": "pong", "ts": message["ts"]})
                elif message["type"] == "balance_changed":
                    self.changes.append(message)
        except ConnectionClosed as closed:
            self.closed = closed.rcvd.code if closed.rcvd else -1


@pytest.mark.timeout(900)
def test_a_broadcast_to_2000_clients_reaches_each_once_and_in_order(crowd_gateway, minter, ledger):
    gateway = crowd_gateway
    allow_open_files(SCREENS + 500)
    customer = new_customer_id()
    accounts = [ledger.open_account(customer) for _ in range(2)]
    ledger.flush()

    async def connect(n: int) -> Screen:
        client = await Client.open(
            gateway.ws, origin=gateway.origin, compression=None, max_queue=None, open_timeout=60
        )
        # Staff screens, each its own principal: the per-principal limit stays as configured.
        await client.authenticate(minter.token(None, staff=True, sub=f"screen-{n}"))
        await client.subscribe_when_known(accounts)
        return Screen(client)

    async def scenario() -> None:
        screens: list[Screen] = []
        while len(screens) < SCREENS:
            batch = range(len(screens), min(len(screens) + CONNECTING_AT_ONCE, SCREENS))
            screens += await asyncio.gather(*(connect(n) for n in batch))
        assert gateway.metric("soe_connections") >= SCREENS

        sent = [ledger.change(accounts[n % 2], n + 1) for n in range(CHANGES)]
        ledger.flush()
        expected = {
            iban: [(e["sequence"], e["new_balance"]) for e in sent if e["iban"] == iban]
            for iban in accounts
        }

        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if all(len(s.changes) >= CHANGES for s in screens):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # a duplicate, had one been sent, would have arrived by now

        def seen(screen: Screen, iban: str) -> list[tuple[int, int]]:
            return [(m["sequence"], m["new_balance"]) for m in screen.changes if m["iban"] == iban]

        wrong = []
        for n, screen in enumerate(screens):
            got = {iban: seen(screen, iban) for iban in accounts}
            if got != expected or len(screen.changes) != CHANGES or screen.closed is not None:
                wrong.append((n, len(screen.changes), screen.closed))
        assert not wrong, f"{len(wrong)} screens missed, repeated or reordered: {wrong[:5]}"

        for screen in screens:
            screen.task.cancel()
        await asyncio.gather(*(s.task for s in screens), return_exceptions=True)
        await asyncio.gather(*(s.client.close() for s in screens), return_exceptions=True)

    asyncio.run(scenario())
