"""Who may use the live feed: Origin, token, ownership, and what happens to bad messages."""

from __future__ import annotations

import asyncio
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.exceptions import InvalidStatus

from tests.support.soe_live import Client, Minter, new_customer_id, new_iban

pytestmark = pytest.mark.integration


async def opened(gateway, **options: object) -> Client:
    return await Client.open(gateway.ws, origin=gateway.origin, **options)


async def refused_with(client: Client, message: dict | str | None) -> tuple[dict, int | None]:
    """Send one message; the error the gateway answers and the code it closes with."""
    if message is not None:
        await client.send(message)
    error = json.loads(await asyncio.wait_for(client.ws.recv(), 10))
    return error, await client.closed_with()


def test_a_page_of_another_site_cannot_open_the_feed(gateway):
    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            await Client.open(gateway.ws, origin="https://evil.example")
        assert refused.value.response.status_code == 403

    asyncio.run(scenario())


def test_the_first_message_must_be_auth(gateway):
    async def scenario() -> None:
        error, code = await refused_with(await opened(gateway), {"type": "subscribe"})
        assert (error["code"], code) == ("auth_required", 4001)

    asyncio.run(scenario())


def test_a_token_in_the_query_string_is_ignored(gateway, minter):
    async def scenario() -> None:
        token = minter.token(new_customer_id())
        client = await Client.open(f"{gateway.ws}?token={token}", origin=gateway.origin)
        error, code = await refused_with(client, None)  # no auth message: timed out after 2 s
        assert (error["code"], code) == ("auth_required", 4001)
        assert token not in gateway.log_text(), "the token reached the gateway's log"

    asyncio.run(scenario())


def test_an_expired_token_is_refused(gateway, minter):
    async def scenario() -> None:
        token = minter.token(new_customer_id(), ttl=-60)
        error, code = await refused_with(await opened(gateway), {"type": "auth", "token": token})
        assert (error["code"], code) == ("token_expired", 4003)

    asyncio.run(scenario())


@pytest.mark.parametrize("forgery", ["another key", "garbage", "shared secret"])
def test_a_forged_token_is_refused(gateway, forgery):
    import jwt

    if forgery == "another key":
        token = Minter(Ed25519PrivateKey.generate()).token(new_customer_id(), staff=True)
    elif forgery == "garbage":
        token = "eyJhbGciOiJFZERTQSJ9.e30.c2lnbmF0dXJl"
    else:
        token = jwt.encode({"sub": "x", "scope": "feed:all", "exp": 2**40}, "s" * 32)

    async def scenario() -> None:
        error, code = await refused_with(await opened(gateway), {"type": "auth", "token": token})
        assert (error["code"], code) == ("auth_failed", 4002)

    asyncio.run(scenario())


def test_the_connection_closes_when_the_token_expires(gateway, minter):
    async def scenario() -> None:
        client = await opened(gateway)
        await client.authenticate(minter.token(new_customer_id(), ttl=2))
        assert await client.closed_with(timeout=10) == 4003

    asyncio.run(scenario())


def test_someone_elses_account_is_answered_as_an_unknown_one_and_never_shown(
    gateway, minter, ledger
):
    customer, stranger = new_customer_id(), new_customer_id()
    mine = ledger.open_account(customer)
    theirs = ledger.open_account(stranger)
    ledger.flush()

    async def scenario() -> None:
        owner = await opened(gateway)
        await owner.authenticate(minter.token(stranger))
        await owner.subscribe_when_known([theirs])  # the gateway knows the account now

        client = await opened(gateway)
        await client.authenticate(minter.token(customer))
        await client.subscribe_when_known([mine])
        unknown = new_iban()
        answers = {}
        for iban in (theirs, unknown):
            replies = await client.subscribe(accounts=[iban])
            unstamped = [{k: v for k, v in m.items() if k != "sent_at"} for m in replies]
            answers[iban] = json.dumps(unstamped).replace(iban, "<IBAN>")
        assert answers[theirs] == answers[unknown], "the answer tells an IBAN exists"
        [subscribed] = json.loads(answers[theirs])
        assert subscribed["accounts"] == [{"iban": "<IBAN>", "mode": "pending", "sequence": None}]

        ledger.change(theirs, 99)
        ledger.change(mine, 1)
        ledger.flush()
        next_message = await client.receive()
        assert (next_message["type"], next_message["iban"]) == ("balance_changed", mine)
        assert next_message["delta"] == 1
        await owner.close()
        await client.close()

    asyncio.run(scenario())


def test_staff_may_watch_any_account_but_a_customer_may_not_ask_for_all(gateway, minter, ledger):
    iban = ledger.open_account(new_customer_id())
    ledger.flush()

    async def scenario() -> None:
        clerk = await opened(gateway)
        await clerk.authenticate(minter.token(None, staff=True))
        [snapshot] = await clerk.subscribe_when_known([iban])
        assert snapshot["iban"] == iban

        customer = await opened(gateway)
        await customer.authenticate(minter.token(new_customer_id()))
        await customer.send({"type": "subscribe", "all": True})
        assert (await customer.receive())["code"] == "forbidden"
        await clerk.close()
        await customer.close()

    asyncio.run(scenario())


def test_malformed_messages_get_an_error_and_the_connection_goes_on(gateway, minter):
    async def scenario() -> None:
        client = await opened(gateway)
        await client.authenticate(minter.token(new_customer_id()))
        for bad in [
            "{not json",
            "[]",
            json.dumps({"type": "dance"}),
            json.dumps({"type": "subscribe", "accounts": ["x"]}),
        ]:
            await client.send(bad)
            error = await client.receive()
            assert error["type"] == "error"
            assert error["code"] in {"malformed", "unknown_type"}
        await client.send({"type": "ping", "ts": 1})
        assert (await client.receive())["type"] == "pong"
        await client.close()

    asyncio.run(scenario())


def test_a_client_that_keeps_sending_garbage_is_closed(gateway, minter):
    async def scenario() -> None:
        client = await opened(gateway)
        await client.authenticate(minter.token(new_customer_id()))
        for _ in range(10):
            await client.send("garbage")
        assert await client.closed_with() == 1008

    asyncio.run(scenario())


def test_an_oversized_message_closes_the_connection(gateway, minter):
    async def scenario() -> None:
        client = await opened(gateway)
        await client.authenticate(minter.token(new_customer_id()))
        await client.send({"type": "subscribe", "accounts": ["DE" + "1" * 20] * 200})
        assert await client.closed_with() == 1009

        early = await opened(gateway)  # the server itself refuses the frame, before sign-in
        await early.send("x" * 5000)
        assert await early.closed_with() == 1009

    asyncio.run(scenario())


def test_a_refused_handshake_carries_the_security_headers_too(gateway):
    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            await Client.open(gateway.ws, origin="https://evil.example")
        assert "frame-ancestors 'none'" in refused.value.response.headers["content-security-policy"]

    asyncio.run(scenario())
