"""The gateway's limits on connections and on what one client sends, against a real gateway
process started with small limits (conftest.STRICT_LIMITS), over real websockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.soe_live import Client, new_customer_id, new_iban

pytestmark = pytest.mark.integration

# STRICT_LIMITS in conftest.py
PER_PRINCIPAL, PER_ADDRESS, TOTAL, UNAUTHENTICATED = 2, 4, 6, 2


async def opened(gateway, address: str = "127.0.0.1", **options: object) -> Client:
    return await Client.open(gateway.ws, origin=gateway.origin, local_addr=(address, 0), **options)


async def signed_in(gateway, minter, customer: int, address: str = "127.0.0.1") -> Client:
    client = await opened(gateway, address)
    await client.authenticate(minter.token(customer))
    return client


async def refused_status(gateway, address: str = "127.0.0.1", **options: object) -> int:
    with pytest.raises(InvalidStatus) as refused:
        await opened(gateway, address, **options)
    return refused.value.response.status_code


async def send_until_closed(client: Client, messages: list[dict]) -> None:
    """Send them all, without reading; the gateway may close the connection on the way."""
    with contextlib.suppress(ConnectionClosed):
        for message in messages:
            await client.send(message)


async def close_all(clients: list[Client]) -> None:
    await asyncio.gather(*(client.close() for client in clients))


def test_one_sign_in_may_hold_only_so_many_connections(strict_gateway, minter):
    strict_gateway.wait_idle()
    customer = new_customer_id()

    async def scenario() -> None:
        mine = [await signed_in(strict_gateway, minter, customer) for _ in range(PER_PRINCIPAL)]
        extra = await opened(strict_gateway)
        await extra.send({"type": "auth", "token": minter.token(customer)})  # a new token, too
        error = await extra.receive()
        assert (error["type"], error["code"]) == ("error", "too_many_connections")
        assert await extra.closed_with() == 4013
        someone_else = await signed_in(strict_gateway, minter, new_customer_id())
        await close_all([*mine, someone_else])

    asyncio.run(scenario())


def test_connections_that_do_not_sign_in_are_limited_apart(strict_gateway, minter):
    strict_gateway.wait_idle()

    async def scenario() -> None:
        waiting = [await opened(strict_gateway) for _ in range(UNAUTHENTICATED)]
        assert await refused_status(strict_gateway) == 503
        await waiting[0].authenticate(minter.token(new_customer_id()))
        another = await opened(strict_gateway)  # one of the waiting signed in: room again
        await close_all([*waiting, another])

    asyncio.run(scenario())


def test_one_address_may_open_only_so_many_connections(strict_gateway, minter):
    strict_gateway.wait_idle()

    async def scenario() -> None:
        here = [await signed_in(strict_gateway, minter, new_customer_id()) for _ in range(4)]
        assert await refused_status(strict_gateway) == 429
        # No proxy is trusted: a forwarded address the client wrote itself changes nothing.
        forged = {"X-Forwarded-For": "203.0.113.9"}
        assert await refused_status(strict_gateway, additional_headers=forged) == 429
        elsewhere = await signed_in(strict_gateway, minter, new_customer_id(), "127.0.0.2")
        await close_all([*here, elsewhere])

    asyncio.run(scenario())


def test_the_gateway_holds_at_most_its_total_of_connections(strict_gateway, minter):
    strict_gateway.wait_idle()

    async def scenario() -> None:
        clients = []
        for address in ("127.0.0.1",) * PER_ADDRESS + ("127.0.0.2",) * (TOTAL - PER_ADDRESS):
            clients.append(await signed_in(strict_gateway, minter, new_customer_id(), address))
        assert await refused_status(strict_gateway, "127.0.0.3") == 503
        await close_all(clients)
        strict_gateway.wait_idle()
        late = await signed_in(strict_gateway, minter, new_customer_id(), "127.0.0.3")
        await late.close()

    asyncio.run(scenario())


def test_a_client_that_sends_faster_than_the_rate_is_closed(strict_gateway, minter):
    strict_gateway.wait_idle()

    async def scenario() -> None:
        client = await signed_in(strict_gateway, minter, new_customer_id())
        # The burst allows 12, then 2 a second.
        await send_until_closed(client, [{"type": "ping", "ts": n} for n in range(40)])
        assert await client.closed_with() == 4029

    asyncio.run(scenario())


def refusal_lines(gateway) -> int:
    return len(re.findall("unknown or not theirs", gateway.log_text()))


def test_asking_for_others_accounts_closes_the_connection_and_the_log_stays_short(
    strict_gateway, minter, ledger
):
    strict_gateway.wait_idle()
    stranger = new_customer_id()
    theirs = [ledger.open_account(stranger) for _ in range(5)]
    ledger.flush()

    async def scenario() -> None:
        owner = await signed_in(strict_gateway, minter, stranger)
        await owner.subscribe_when_known(theirs)  # the gateway knows them now
        await owner.close()
        lines_before = refusal_lines(strict_gateway)

        client = await signed_in(strict_gateway, minter, new_customer_id())
        probes = [
            {"type": "subscribe", "accounts": theirs + [new_iban() for _ in range(95)]}
            for _ in range(20)
        ]
        await send_until_closed(client, probes)
        assert await client.closed_with() == 1008
        written = refusal_lines(strict_gateway) - lines_before
        # One line per refused message at most, never one per IBAN; ten messages close.
        assert 1 <= written <= 10, f"{written} refusal lines for 10 refused messages"

    asyncio.run(scenario())


def test_a_refused_handshake_says_which_limit_in_its_body(strict_gateway):
    strict_gateway.wait_idle()

    async def scenario() -> None:
        waiting = [await opened(strict_gateway) for _ in range(UNAUTHENTICATED)]
        with pytest.raises(InvalidStatus) as refused:
            await opened(strict_gateway)
        body = json.loads(refused.value.response.body)
        assert body["code"] == "too_many_connections_unauthenticated"
        assert refused.value.response.headers["Retry-After"] == "10"
        await close_all(waiting)

    asyncio.run(scenario())
