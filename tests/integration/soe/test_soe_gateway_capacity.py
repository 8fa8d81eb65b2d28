"""The gateway under many and slow clients: one Kafka consumer, and nobody waits for a slow one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time

import psutil
import pytest
from websockets.exceptions import ConnectionClosed

from kernel.settings import settings
from tests.support.soe_live import (
    SEND_QUEUE_MESSAGES,
    Client,
    new_customer_id,
    now_ms,
    sequences,
    tiny_receive_buffer,
)

pytestmark = pytest.mark.integration

# Changes booked at a time while the quick client reads: far below its send queue (4 MiB).
CHUNK = 200


def kafka_connections(pid: int) -> int:
    kafka_port = int(settings().kafka_bootstrap.rpartition(":")[2])
    return sum(
        1
        for connection in psutil.Process(pid).net_connections(kind="tcp")
        if connection.raddr
        and connection.raddr.port == kafka_port
        and connection.status == psutil.CONN_ESTABLISHED
    )


def test_a_client_that_stops_reading_is_closed_while_another_keeps_up(gateway, minter, ledger):
    customer = new_customer_id()
    iban = ledger.open_account(customer)
    ledger.flush()
    changes = 3000
    filler = os.urandom(1500).hex()  # random, so compression cannot shrink it

    async def scenario() -> None:
        drops = gateway.metric("soe_queue_drops_total")
        slow = await Client.open(
            gateway.ws,
            origin=gateway.origin,
            sock=tiny_receive_buffer(gateway.port),
            compression=None,
            max_queue=1,
        )
        await slow.authenticate(minter.token(customer))
        await slow.subscribe_when_known([iban])
        quick = await Client.open(gateway.ws, origin=gateway.origin, compression=None)
        await quick.authenticate(minter.token(customer))
        await quick.subscribe_when_known([iban])

        def book(first: int, count: int) -> None:
            for n in range(first, first + count):
                ledger.change(iban, 1, reason=f"{n} {filler}")
            ledger.flush()

        # In chunks the quick client takes in before the next: it shares this test's one process
        # with the booking, and must not fall a send queue behind while the slow one does.
        received: list[dict] = []
        for first in range(0, changes, CHUNK):
            count = min(CHUNK, changes - first)
            booking = asyncio.create_task(asyncio.to_thread(book, first, count))
            received += await quick.changes(iban, count)
            await booking
        assert sequences(received) == list(range(1, changes + 1))
        behind = [now_ms() - change["sent_at"] for change in received[-100:]]
        assert max(behind) < 2000, f"the quick client fell {max(behind)} ms behind"
        last = ledger.change(iban, 1, reason="after the slow client left")
        ledger.flush()
        started = time.monotonic()
        [after] = await quick.changes(iban, 1)
        assert after["sequence"] == last["sequence"]
        assert time.monotonic() - started < 2, "the quick client waited for the slow one"

        assert gateway.metric("soe_queue_drops_total") == drops + 1
        assert await slow.closed_with(timeout=30) == 4008
        await quick.close()

    asyncio.run(scenario())


@pytest.mark.timeout(300)
def test_the_gateway_holds_one_kafka_consumer_however_many_clients(crowd_gateway, minter, ledger):
    gateway = crowd_gateway
    customers = [new_customer_id() for _ in range(10)]
    accounts = {customer: ledger.open_account(customer) for customer in customers}
    ledger.flush()

    async def connect_client(customer: int) -> Client:
        client = await Client.open(gateway.ws, origin=gateway.origin, compression=None)
        await client.authenticate(minter.token(customer))
        await client.subscribe_when_known([accounts[customer]])
        return client

    async def scenario() -> None:
        clients: list[Client] = []
        seen = {}
        for count in (1, 100, 1000):
            while len(clients) < count:
                batch = min(100, count - len(clients))
                clients += await asyncio.gather(
                    *(connect_client(customers[(len(clients) + i) % 10]) for i in range(batch))
                )
            assert gateway.metric("soe_connections") == count
            seen[count] = (gateway.metric("soe_kafka_consumers"), kafka_connections(gateway.pid))
        assert {consumers for consumers, _ in seen.values()} == {1}, seen
        assert all(0 < sockets <= 2 for _, sockets in seen.values()), seen

        ledger.change(accounts[customers[0]], 5)
        ledger.flush()
        watchers = [c for i, c in enumerate(clients) if i % 10 == 0]
        for delivered in await asyncio.gather(
            *(c.changes(accounts[customers[0]], 1) for c in watchers)
        ):
            assert delivered[0]["delta"] == 5
        await asyncio.gather(*(c.close() for c in clients))

    asyncio.run(scenario())


def test_a_client_that_floods_subscribe_and_never_reads_is_closed_at_its_queue_bound(
    gateway, minter, ledger
):
    """8,000 subscribes (168 KB) from a client that never read once made the gateway hold
    32,002 messages, 100 MB, for it. Now every reply counts toward the queue's bound."""
    customer = new_customer_id()
    iban = ledger.open_account(customer)
    for n in range(20):  # every snapshot then carries 20 movements of about 1 KB
        ledger.change(iban, 1, reason=f"{n} {os.urandom(500).hex()}")
    ledger.flush()

    async def scenario() -> None:
        drops = gateway.metric("soe_queue_drops_total")
        flooder = await Client.open(
            gateway.ws,
            origin=gateway.origin,
            sock=tiny_receive_buffer(gateway.port),
            compression=None,
            max_queue=1,
        )
        await flooder.authenticate(minter.token(customer))
        [snapshot] = await flooder.subscribe_when_known([iban])
        await flooder.changes(iban, 20 - snapshot["sequence"])  # the gateway holds all 20
        rss_before = gateway.rss()
        request = json.dumps({"type": "subscribe", "accounts": [iban]})
        with contextlib.suppress(ConnectionClosed):
            for _ in range(8000):
                await flooder.send(request)
        assert await flooder.closed_with(timeout=30) == 4008
        assert gateway.metric("soe_queue_drops_total") == drops + 1
        assert 0 < gateway.metric("soe_send_queue_peak_messages") <= SEND_QUEUE_MESSAGES
        grown = gateway.rss() - rss_before
        assert grown < 20 * 2**20, f"the gateway grew by {grown / 2**20:.0f} MiB for one client"

    asyncio.run(scenario())
