"""The frame-once path on a real gateway (soe/wire.py): a change's frame goes straight to each
reading client's socket; a client whose socket is full gets it through its queue, behind what it
already waits for; nothing is sent twice or out of order, and a client that stops reading is
closed (4008) without holding the others up."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from tests.support.soe_live import (
    SEND_QUEUE_MESSAGES,
    Client,
    new_customer_id,
    sequences,
    tiny_receive_buffer,
)

pytestmark = pytest.mark.integration

READERS = 4
CHUNK = 250


async def reader(gateway, minter, customer: int, iban: str) -> Client:
    client = await Client.open(gateway.ws, origin=gateway.origin, compression=None)
    await client.authenticate(minter.token(customer))
    await client.subscribe_when_known([iban])
    return client


def test_reading_clients_get_each_change_straight_from_the_socket(gateway, minter, ledger):
    customer = new_customer_id()
    iban = ledger.open_account(customer)
    ledger.flush()
    changes = 20

    async def scenario() -> None:
        clients = await asyncio.gather(
            *(reader(gateway, minter, customer, iban) for _ in range(READERS))
        )
        queued = gateway.metric("soe_messages_queued_total")
        out = gateway.metric("soe_messages_out_total")
        for _ in range(changes):
            ledger.change(iban, 1)
            ledger.flush()
            await asyncio.sleep(0.02)
        for received in await asyncio.gather(*(c.changes(iban, changes) for c in clients)):
            assert sequences(received) == list(range(1, changes + 1))
        assert gateway.metric("soe_messages_out_total") - out >= READERS * changes
        # Every client read on: not one of those frames waited in a queue.
        assert gateway.metric("soe_messages_queued_total") == queued
        await asyncio.gather(*(c.close() for c in clients))

    asyncio.run(scenario())


def test_a_client_that_stops_reading_is_closed_while_the_others_read_every_change_once(
    gateway, minter, ledger
):
    customer = new_customer_id()
    iban = ledger.open_account(customer)
    ledger.flush()
    changes = 3000
    filler = os.urandom(1500).hex()  # 3 KB a change: the stopped client's buffers fill fast

    async def scenario() -> None:
        drops = gateway.metric("soe_queue_drops_total")
        stopped = await Client.open(
            gateway.ws,
            origin=gateway.origin,
            sock=tiny_receive_buffer(gateway.port),
            compression=None,
            max_queue=1,
        )
        await stopped.authenticate(minter.token(customer))
        await stopped.subscribe_when_known([iban])
        clients = await asyncio.gather(
            *(reader(gateway, minter, customer, iban) for _ in range(READERS))
        )
        out = gateway.metric("soe_messages_out_total")
        queued = gateway.metric("soe_messages_queued_total")

        def book(first: int, count: int) -> None:
            for n in range(first, first + count):
                ledger.change(iban, 1, reason=f"{n} {filler}")
            ledger.flush()

        # In chunks the readers take in before the next: readers sharing this test's one process
        # with the booking must not fall a send queue (4 MiB) behind and be closed themselves,
        # while the stopped client's 9 MB overflow its buffers and its queue.
        everyone: list[list[dict]] = [[] for _ in clients]
        for first in range(0, changes, CHUNK):
            count = min(CHUNK, changes - first)
            await asyncio.to_thread(book, first, count)
            got = await asyncio.gather(*(c.changes(iban, count) for c in clients))
            for received, chunk in zip(everyone, got, strict=True):
                received.extend(chunk)
        for received in everyone:
            assert sequences(received) == list(range(1, changes + 1))
        assert await stopped.closed_with(timeout=30) == 4008
        assert gateway.metric("soe_queue_drops_total") == drops + 1
        written = gateway.metric("soe_messages_out_total") - out
        waited = gateway.metric("soe_messages_queued_total") - queued
        assert written - waited > changes, "hardly any change went straight to a socket"
        # Nothing more arrives: a frame sent twice would come now.
        last = ledger.change(iban, 1, reason="the last")
        ledger.flush()
        for client in clients:
            [after] = await client.changes(iban, 1)
            assert after["sequence"] == last["sequence"]
        await asyncio.gather(*(c.close() for c in clients))

    asyncio.run(scenario())


def test_a_client_that_pauses_gets_what_queued_behind_its_full_socket_in_order(
    gateway, minter, ledger
):
    """The subtle case: once a frame of a client waits in its queue, every later one must wait
    behind it, even when its socket takes writes again before the writer has run."""
    customer = new_customer_id()
    iban = ledger.open_account(customer)
    ledger.flush()
    filler = os.urandom(7500).hex()  # 15 KB a change: the socket fills in seconds
    batch = 20

    async def scenario() -> None:
        pausing = await Client.open(
            gateway.ws,
            origin=gateway.origin,
            sock=tiny_receive_buffer(gateway.port),
            compression=None,
            max_queue=1,
        )
        await pausing.authenticate(minter.token(customer))
        await pausing.subscribe_when_known([iban])
        queued = gateway.metric("soe_messages_queued_total")
        booked = 0
        # The client reads nothing: book until its socket is full and the gateway queues (well
        # within the gateway's idle timeout, which would close the silent client).
        while gateway.metric("soe_messages_queued_total") == queued:
            assert booked < 2000, "the socket never filled"
            for _ in range(batch):
                ledger.change(iban, 1, reason=f"{booked} {filler}")
                booked += 1
            ledger.flush()
            await asyncio.sleep(0.2)
        # At most a batch waits in the queue, below its bound; these must come after them.
        more = SEND_QUEUE_MESSAGES - batch - 10
        for n in range(more):
            ledger.change(iban, 1, reason=f"after {n}")
        booked += more
        ledger.flush()
        await asyncio.sleep(1)
        received = await pausing.changes(iban, booked)  # reads again
        assert sequences(received) == list(range(1, booked + 1))
        last = ledger.change(iban, 1, reason="the last")
        ledger.flush()
        [after] = await pausing.changes(iban, 1)
        assert after["sequence"] == last["sequence"]
        await pausing.close()

    asyncio.run(scenario())


def test_a_client_that_joins_while_changes_flow_gets_none_twice(gateway, minter, ledger):
    customer = new_customer_id()
    iban = ledger.open_account(customer)
    ledger.flush()
    stop = threading.Event()

    def flowing() -> None:
        while not stop.is_set():
            ledger.change(iban, 1)
            ledger.flush()
            time.sleep(0.005)

    async def scenario() -> None:
        watcher = await reader(gateway, minter, customer, iban)
        producer = asyncio.create_task(asyncio.to_thread(flowing))
        await asyncio.sleep(0.5)
        joiners = []
        for _ in range(5):
            client = await Client.open(gateway.ws, origin=gateway.origin, compression=None)
            await client.authenticate(minter.token(customer))
            [snapshot] = await client.subscribe_when_known([iban])
            joiners.append((client, snapshot["sequence"]))
            await asyncio.sleep(0.2)
        # And one that resumes from the last joiner's sequence: replays, then live, none twice.
        resume_from = joiners[-1][1]
        resumer = await Client.open(gateway.ws, origin=gateway.origin, compression=None)
        await resumer.authenticate(minter.token(customer))
        replies = await resumer.subscribe(accounts=[iban], resume={iban: resume_from})
        [answer] = replies[-1]["accounts"]
        assert answer["mode"] == "resumed", answer
        replayed = [m for m in replies if m["type"] == "balance_changed"]
        assert all(m["replayed"] for m in replayed)
        await asyncio.sleep(0.5)
        stop.set()
        await producer
        last = ledger.accounts[iban]["sequence"]
        for client, seen in joiners:
            received = await client.changes(iban, last - seen)
            assert sequences(received) == list(range(seen + 1, last + 1))
        live = await resumer.changes(iban, last - answer["sequence"])
        assert sequences(replayed + live) == list(range(resume_from + 1, last + 1))
        watched = await watcher.changes(iban, last)
        assert sequences(watched) == list(range(1, last + 1))
        for client in [watcher, resumer, *(c for c, _ in joiners)]:
            await client.close()

    asyncio.run(scenario())


def test_the_gateway_stops_cleanly_while_a_close_waits_for_its_answer(own_gateway, minter):
    """A client closed by the gateway that never answers the close (it stopped reading) once
    made the gateway's shutdown fail on that connection, leaving with an error."""

    async def scenario() -> None:
        silent = await Client.open(
            own_gateway.ws,
            origin=own_gateway.origin,
            sock=tiny_receive_buffer(own_gateway.port),
            compression=None,
            max_queue=1,
        )
        await silent.authenticate(minter.token(new_customer_id()))
        for _ in range(10):  # ten malformed messages: the gateway closes it (1008)
            await silent.send("not json")
        deadline = time.monotonic() + 10
        while not own_gateway.metric("soe_closes_total"):
            assert time.monotonic() < deadline, "the gateway did not close the client"
            await asyncio.sleep(0.1)
        # The client reads nothing: the gateway's close frame stays unanswered for 10 s.
        own_gateway.executor.stop()  # raises when the gateway ends with an error
        assert "Traceback" not in own_gateway.log_text()

    asyncio.run(scenario())
