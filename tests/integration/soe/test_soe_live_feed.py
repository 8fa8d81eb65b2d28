"""The live feed over real websockets: snapshot, live changes in order, resume, alerts."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from tests.support.soe_live import (
    IDLE_TIMEOUT_SECONDS,
    Client,
    new_customer_id,
    new_iban,
    sequences,
)

pytestmark = pytest.mark.integration


async def signed_in(gateway, minter, customer_id: int, **token: object) -> Client:
    client = await Client.open(gateway.ws, origin=gateway.origin)
    await client.authenticate(minter.token(customer_id, **token))
    return client


def test_a_customer_gets_a_snapshot_then_every_change_in_order(gateway, minter, ledger):
    customer = new_customer_id()
    iban = ledger.open_account(customer, balance=50_000)
    ledger.flush()

    async def scenario() -> None:
        client = await signed_in(gateway, minter, customer)
        [snapshot] = await client.subscribe_when_known([iban])
        assert snapshot["type"] == "snapshot"
        assert (snapshot["iban"], snapshot["balance"], snapshot["sequence"]) == (iban, 50_000, 0)
        assert (snapshot["currency"], snapshot["status"], snapshot["customer_id"]) == (
            "EUR",
            "open",
            customer,
        )
        assert snapshot["fresh"] is False

        produced = [ledger.change(iban, 100 * (n + 1), reason=f"deposit {n}") for n in range(30)]
        ledger.flush()
        received = await client.changes(iban, 30)
        assert sequences(received) == list(range(1, 31))
        for sent, got in zip(produced, received, strict=True):
            for name in ("old_balance", "new_balance", "delta", "reason", "committed_at", "kind"):
                assert got[name] == sent[name]
            assert got["sent_at"] >= got["committed_at"]
        await client.close()

    asyncio.run(scenario())


def test_subscribing_without_accounts_watches_exactly_the_customers_own(gateway, minter, ledger):
    customer, stranger = new_customer_id(), new_customer_id()
    first = ledger.open_account(customer)
    second = ledger.open_account(customer)
    foreign = ledger.open_account(stranger)
    ledger.flush()

    async def scenario() -> None:
        client = await signed_in(gateway, minter, customer)
        await client.subscribe_when_known([first, second])  # both known to the gateway
        replies = await client.subscribe()
        assert {m["iban"] for m in replies if m["type"] == "snapshot"} == {first, second}
        ledger.change(foreign, 5)
        ledger.change(first, 7)
        ledger.flush()
        [change] = await client.changes(first, 1)
        assert change["delta"] == 7
        await client.close()

    asyncio.run(scenario())


def test_resume_after_a_forced_disconnect_during_a_burst_has_no_gap_and_no_duplicate(
    gateway, minter, ledger
):
    customer = new_customer_id()
    iban = ledger.open_account(customer)
    ledger.flush()
    total = 300

    async def produce() -> None:
        for n in range(total):  # 200 changes a second, for 1.5 s
            ledger.change(iban, 1, reason=f"burst {n}")
            await asyncio.sleep(0.005)
        ledger.flush()

    async def scenario() -> None:
        client = await signed_in(gateway, minter, customer)
        await client.subscribe_when_known([iban])
        burst = asyncio.create_task(produce())
        before = await client.changes(iban, 40)
        client.ws.transport.abort()  # the network drops: no close handshake
        await asyncio.sleep(0.3)
        last = before[-1]["sequence"]

        again = await signed_in(gateway, minter, customer)
        replies = await again.subscribe(accounts=[iban], resume={iban: last})
        replayed = [m for m in replies if m["type"] == "balance_changed"]
        assert all(m["replayed"] for m in replayed)
        assert replies[-1]["accounts"][0]["mode"] == "resumed"
        await burst
        live = await again.changes(iban, total - last - len(replayed))
        assert sequences(before + replayed + live) == list(range(1, total + 1))
        assert live[-1]["new_balance"] == 10_000 + total
        await again.close()

    asyncio.run(scenario())


def test_resume_older_than_the_retained_history_gets_a_fresh_snapshot(gateway, minter, ledger):
    customer = new_customer_id()
    iban = ledger.open_account(customer, balance=0)
    ledger.flush()

    async def scenario() -> None:
        client = await signed_in(gateway, minter, customer)
        await client.subscribe_when_known([iban])
        await client.close()
        for _ in range(250):  # the test gateway keeps 200 changes per account
            ledger.change(iban, 10)
        ledger.flush()

        watcher = await signed_in(gateway, minter, customer)
        deadline = time.monotonic() + 15
        while (await watcher.subscribe(accounts=[iban]))[0]["sequence"] < 250:
            assert time.monotonic() < deadline, "the gateway did not read the 250 changes"
            await asyncio.sleep(0.1)
        await watcher.close()

        again = await signed_in(gateway, minter, customer)
        [snapshot, subscribed] = await again.subscribe(accounts=[iban], resume={iban: 0})
        assert (snapshot["type"], snapshot["fresh"]) == ("snapshot", True)
        assert (snapshot["sequence"], snapshot["balance"]) == (250, 2500)
        assert subscribed["accounts"] == [{"iban": iban, "mode": "fresh_snapshot", "sequence": 250}]
        assert sequences(snapshot["history"])[-1] == 250

        [resumed] = await again.subscribe(accounts=[iban], resume={iban: 250})
        assert resumed["accounts"][0]["mode"] == "resumed"
        await again.close()

    asyncio.run(scenario())


def test_a_customer_hears_alerts_for_their_accounts(gateway, minter, ledger):
    customer = new_customer_id()
    iban = ledger.open_account(customer, balance=500)
    ledger.flush()

    async def scenario() -> None:
        client = await signed_in(gateway, minter, customer)
        await client.subscribe_when_known([iban])
        raised = ledger.alert(iban)
        ledger.flush()
        alert = await client.until("alert")
        assert (alert[-1]["raised_at"], alert[-1]["kind"]) == (raised["raised_at"], raised["kind"])
        assert alert[-1]["iban"] == iban
        assert "alert_id" not in alert[-1], "the internal id (a binlog position) was sent"
        assert "sent_at" in alert[-1]
        await client.close()

    asyncio.run(scenario())


def test_watchers_hear_of_a_frozen_and_a_deleted_account(gateway, minter, ledger):
    customer = new_customer_id()
    iban = ledger.open_account(customer)
    ledger.flush()

    async def scenario() -> None:
        client = await signed_in(gateway, minter, customer)
        await client.subscribe_when_known([iban])
        ledger.publish_state(iban, status="frozen")
        ledger.flush()
        assert (await client.until("account"))[-1]["status"] == "frozen"
        ledger.delete(iban)
        ledger.flush()
        assert (await client.until("account_removed"))[-1]["iban"] == iban
        await client.close()

    asyncio.run(scenario())


def test_heartbeats_go_both_ways(gateway, minter):
    async def scenario() -> None:
        client = await signed_in(gateway, minter, new_customer_id())
        await client.send({"type": "ping", "ts": 123})
        pong = await client.receive()
        assert pong["type"] == "pong"
        assert pong["ts"] == 123
        ping = json.loads(await asyncio.wait_for(client.ws.recv(), 5))  # heartbeat every 2 s
        assert ping["type"] == "ping"
        await client.close()

    asyncio.run(scenario())


def test_a_client_that_sends_nothing_is_closed_after_the_idle_timeout(impatient_gateway, minter):
    async def scenario() -> None:
        quiet = await signed_in(impatient_gateway, minter, new_customer_id())
        chatty = await signed_in(impatient_gateway, minter, new_customer_id())
        await quiet.subscribe()
        await chatty.subscribe()
        silent_since = time.monotonic()

        # closed_with reads without answering the gateway's pings: the client has gone silent.
        code, _ = await asyncio.gather(
            quiet.closed_with(timeout=10), chatty.answer_heartbeats_for(5)
        )
        assert code == 4010
        assert time.monotonic() - silent_since >= IDLE_TIMEOUT_SECONDS - 0.5, "closed too early"
        await chatty.send({"type": "ping", "ts": 7})
        assert (await chatty.receive())["ts"] == 7, "a client answering heartbeats was closed too"
        await chatty.close()

    asyncio.run(scenario())


def test_a_record_that_cannot_be_read_is_skipped_and_the_feed_goes_on(gateway, minter, ledger):
    customer = new_customer_id()
    iban = ledger.open_account(customer)
    ledger.flush()

    async def scenario() -> None:
        client = await signed_in(gateway, minter, customer)
        await client.subscribe_when_known([iban])
        skipped = gateway.metric("soe_undecodable_records_total")
        ledger.send_raw(ledger.topics.balance_changed, iban, b"not avro at all")
        ledger.change(iban, 42)
        ledger.flush()
        [change] = await client.changes(iban, 1)
        assert change["delta"] == 42
        assert gateway.metric("soe_undecodable_records_total") == skipped + 1
        await client.close()

    asyncio.run(scenario())


def test_an_account_asked_for_before_the_gateway_knows_it_arrives_when_it_appears(
    gateway, minter, ledger
):
    customer = new_customer_id()

    async def scenario() -> None:
        client = await signed_in(gateway, minter, customer)
        iban = new_iban()
        [subscribed] = await client.subscribe(accounts=[iban])
        assert subscribed["accounts"] == [{"iban": iban, "mode": "pending", "sequence": None}]
        ledger.open_account(customer, iban=iban, balance=1234)
        ledger.flush()
        [snapshot] = await client.until("snapshot")
        assert (snapshot["iban"], snapshot["balance"]) == (iban, 1234)
        await client.close()

    asyncio.run(scenario())
