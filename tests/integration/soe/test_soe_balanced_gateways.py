"""Two gateways behind HAProxy, as BANK_SOE_GATEWAYS=2 runs them: the balancer serves the
dashboard and the live feed, a gateway killed with -9 loses none of its customers' changes (they
resume on the other one at once, each change shown once), and the per-address limit still counts
each client's own address, not the balancer's."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.balanced_gateways import BALANCED_PER_ADDRESS, Balanced
from tests.support.browser import chromium_page
from tests.support.soe_live import Client, new_customer_id

pytestmark = pytest.mark.integration

# The dashboard's first reconnect waits 0.5 s; the balancer sends it to the gateway that lives.
FAILOVER_SECONDS = 5.0


class Customer:
    """A customer's live feed through the balancer, reconnecting and resuming as the dashboard
    does; it keeps every sequence it was shown, in order."""

    def __init__(self, balanced: Balanced, token: str, iban: str) -> None:
        self.url, self.origin = balanced.balancer.ws, balanced.balancer.origin
        self.token, self.iban = token, iban
        self.shown: list[int] = []
        self.last: int | None = None
        self.replayed: list[int] = []
        self.outages: list[float] = []
        self.client: Client | None = None

    async def connect(self) -> None:
        self.client = await Client.open(self.url, origin=self.origin)
        await self.client.send({"type": "auth", "token": self.token})
        resume = {self.iban: self.last} if self.last is not None else {}
        await self.client.send({"type": "subscribe", "accounts": [self.iban], "resume": resume})
        while (message := await self.client.receive())["type"] != "subscribed":
            self._take(message)

    async def until(self, sequence: int, timeout: float = 20) -> None:
        """Reads until it shows ``sequence``; reconnects through the balancer when dropped."""
        deadline = time.monotonic() + timeout
        while self.last is None or self.last < sequence:
            assert time.monotonic() < deadline, f"shown {self.shown}, waiting for {sequence}"
            try:
                assert self.client is not None
                self._take(await self.client.receive(timeout=deadline - time.monotonic()))
            except ConnectionClosed:
                await self._reconnect(deadline)

    async def _reconnect(self, deadline: float) -> None:
        lost = time.monotonic()
        while True:
            await asyncio.sleep(0.5)
            try:
                await self.connect()
            except (OSError, ConnectionClosed, InvalidStatus):
                assert time.monotonic() < deadline, "never served again"
                continue
            self.outages.append(time.monotonic() - lost)
            return

    def _take(self, message: dict[str, Any]) -> None:
        if message["type"] == "snapshot" and self.last is None:
            self.last = message["sequence"]
        elif message["type"] == "snapshot":
            raise AssertionError(f"a snapshot after sequence {self.last}: {message}")
        elif message["type"] == "balance_changed":
            self.shown.append(message["sequence"])
            if message["replayed"]:
                self.replayed.append(message["sequence"])
            self.last = message["sequence"]


def test_the_balancer_serves_the_dashboard_and_its_readiness(balanced):
    page = httpx.get(balanced.balancer.http + "/", timeout=10)
    assert page.status_code == 200
    assert "<script" in page.text
    assert httpx.get(balanced.balancer.http + "/ready", timeout=10).json()["ready"] is True


def test_a_killed_gateways_customers_resume_on_the_other_with_nothing_missed_or_repeated(
    balanced_to_kill, minter, ledger
):
    balanced = balanced_to_kill
    customer = new_customer_id()
    iban = ledger.open_account(customer)
    ledger.flush()
    token = minter.token(customer)

    async def scenario() -> None:
        customers = [Customer(balanced, token, iban) for _ in range(2)]
        for one in customers:
            await one.connect()
        assert len(balanced.serving()) == 2, "the balancer put one customer on each gateway"
        for _ in range(2):
            ledger.change(iban, 100)
        ledger.flush()
        for one in customers:
            await one.until(2)

        killed, survivor = balanced.gateways
        killed.executor.kill()  # SIGKILL to its process group: kill -9
        for _ in range(2):  # booked while the killed gateway's customer is away
            ledger.change(iban, 100)
        ledger.flush()
        for one in customers:
            await one.until(4)
        ledger.change(iban, 100)
        ledger.flush()
        for one in customers:
            await one.until(5)

        assert [one.shown for one in customers] == [[1, 2, 3, 4, 5]] * 2
        dropped = [one for one in customers if one.outages]
        assert len(dropped) == 1, "only the killed gateway's customer reconnected"
        assert dropped[0].outages[0] < FAILOVER_SECONDS, dropped[0].outages
        assert survivor.metric("soe_connections") == 2

    asyncio.run(scenario())


async def _signed_in(balanced: Balanced, token: str, address: str, **headers: str) -> Client:
    """A websocket through the balancer from one loopback address, signed in."""
    client = await Client.open(
        balanced.balancer.ws,
        origin=balanced.balancer.origin,
        local_addr=(address, 0),
        additional_headers=headers or None,
    )
    await client.send({"type": "auth", "token": token})
    assert (await client.receive())["type"] == "welcome"
    return client


def test_the_per_address_limit_counts_each_clients_own_address_through_the_balancer(
    balanced, minter
):
    token = minter.token(new_customer_id())

    async def scenario() -> None:
        held = []
        try:
            # Each gateway allows BALANCED_PER_ADDRESS from one address; the balancer spreads
            # one address's connections over both.
            for _ in range(2 * BALANCED_PER_ADDRESS):
                held.append(await _signed_in(balanced, token, "127.0.0.2"))
            with pytest.raises(InvalidStatus) as refused:
                # What a client writes in X-Forwarded-For itself does not make it someone else.
                await _signed_in(balanced, token, "127.0.0.2", **{"X-Forwarded-For": "10.9.9.9"})
            assert refused.value.response.status_code == 429
            held.append(await _signed_in(balanced, token, "127.0.0.3"))
        finally:
            for client in held:
                await client.ws.close()

    asyncio.run(scenario())


def test_the_dashboard_through_the_balancer_moves_to_the_other_gateway_missing_nothing(
    balanced_to_kill, minter, ledger, artifacts
):
    balanced = balanced_to_kill
    customer = new_customer_id()
    iban = ledger.open_account(customer, balance=100_00)
    ledger.flush()
    token = minter.token(customer)
    with chromium_page(width=390, height=844) as page:
        page.add_init_script(f"sessionStorage.setItem('liveBank.token', {json.dumps(token)})")
        page.goto(balanced.balancer.http + "/")
        balance = page.locator(f'[data-iban="{iban}"][data-balance]')
        expect(balance).to_have_attribute("data-balance", "10000", timeout=15_000)
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        ledger.change(iban, 25_50, reason="Salary November")
        ledger.flush()
        expect(balance).to_have_attribute("data-balance", "12550", timeout=10_000)

        (serving,) = balanced.serving()
        serving.executor.kill()  # kill -9 of the dashboard's gateway
        ledger.change(iban, -50_00, reason="Rent")
        ledger.change(iban, 1_00, reason="Refund")
        ledger.flush()

        expect(balance).to_have_attribute("data-balance", "7650", timeout=15_000)
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        movements = page.locator(f'[data-account="{iban}"] .movements li')
        for reason in ("Salary November", "Rent", "Refund"):
            expect(movements.filter(has_text=reason)).to_have_count(1)
        page.screenshot(path=str(artifacts / "soe-dashboard-after-failover.png"), full_page=True)
