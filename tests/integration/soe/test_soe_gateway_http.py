"""The gateway's HTTP side: probes, metrics, fan-out times, the dashboard and its configuration."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from tests.support.soe_live import Client, new_customer_id, now_ms

pytestmark = pytest.mark.integration


def test_a_caught_up_gateway_is_alive_and_ready(gateway):
    assert httpx.get(f"{gateway.http}/health").status_code == 200
    ready = httpx.get(f"{gateway.http}/ready")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True


def test_metrics_count_connections_events_lag_and_drops(gateway):
    text = httpx.get(f"{gateway.http}/metrics").text
    for name in (
        "soe_connections",
        "soe_events_in_total",
        "soe_messages_out_total",
        "soe_consumer_lag",
        "soe_queue_drops_total",
        "soe_kafka_consumers",
    ):
        assert name in text


class NotFannedOutYet(AssertionError):
    pass


def fanned_out(gateway, *event_ids: str) -> dict[str, dict]:
    """/fan-out's answer once the gateway remembers every one of these events."""

    @retry(
        retry=retry_if_exception_type(NotFannedOutYet),
        stop=stop_after_delay(15),
        wait=wait_fixed(0.2),
        reraise=True,
    )
    def remembered() -> dict[str, dict]:
        response = httpx.get(f"{gateway.http}/fan-out", params={"event_id": list(event_ids)})
        assert response.status_code == 200, response.text
        found = response.json()
        if set(found) != set(event_ids):
            raise NotFannedOutYet(f"the gateway remembers only {sorted(found)}")
        return found

    return remembered()


def test_fan_out_tells_when_each_event_was_queued_and_to_how_many_watchers(gateway, minter, ledger):
    customer = new_customer_id()
    watched = ledger.open_account(customer)
    unwatched = ledger.open_account(customer)
    ledger.flush()

    async def scenario() -> tuple[dict, dict]:
        clients = [await Client.open(gateway.ws, origin=gateway.origin) for _ in range(2)]
        for client in clients:
            await client.authenticate(minter.token(customer))
            await client.subscribe_when_known([watched])
        await clients[0].subscribe_when_known([unwatched])  # then let go of it again
        await clients[0].send({"type": "unsubscribe", "accounts": [unwatched]})
        await clients[0].until("unsubscribed")
        seen, quiet = ledger.change(watched, 250), ledger.change(unwatched, -40)
        ledger.flush()
        for client in clients:
            await client.changes(watched, 1)
            await client.close()
        return seen, quiet

    before = now_ms()
    seen, quiet = asyncio.run(scenario())
    found = fanned_out(gateway, seen["event_id"], quiet["event_id"])
    assert found[seen["event_id"]]["watchers"] == 2
    assert found[quiet["event_id"]]["watchers"] == 0
    for event in (seen, quiet):
        fan_out = found[event["event_id"]]
        assert before <= fan_out["fanned_out_at"] <= now_ms()
        assert fan_out["fanned_out_at"] >= event["derived_at"]
        assert fan_out["at_start"] is False
        assert set(fan_out) == {"fanned_out_at", "watchers", "at_start"}  # no amounts, no IBANs


def test_after_a_restart_events_read_back_at_start_are_marked_so(own_gateway, ledger):
    iban = ledger.open_account(new_customer_id())
    event = ledger.change(iban, 500)
    ledger.flush()
    assert fanned_out(own_gateway, event["event_id"])[event["event_id"]]["at_start"] is False

    own_gateway.executor.stop()
    own_gateway.executor.start()
    read_back = fanned_out(own_gateway, event["event_id"])[event["event_id"]]
    assert read_back["at_start"] is True
    assert read_back["watchers"] == 0


def test_fan_out_leaves_unknown_events_out_and_takes_at_most_100_ids(gateway):
    unknown = httpx.get(f"{gateway.http}/fan-out", params={"event_id": "sor:no-such-event:0:0"})
    assert unknown.status_code == 200
    assert unknown.json() == {}
    too_many = [f"sor:bin:{n}:0" for n in range(101)]
    assert httpx.get(f"{gateway.http}/fan-out", params={"event_id": too_many}).status_code == 422
    assert httpx.get(f"{gateway.http}/fan-out").status_code == 422


def test_the_dashboard_is_served_with_its_configuration(gateway):
    page = httpx.get(f"{gateway.http}/")
    assert page.status_code == 200
    assert 'name="username"' in page.text
    assert 'name="password"' in page.text
    config = httpx.get(f"{gateway.http}/config.json").json()
    assert config["token_url"].endswith("/api/auth/live-token/")
    for asset in ("app.js", "style.css"):
        assert httpx.get(f"{gateway.http}/{asset}").status_code == 200


def test_a_gateway_without_kafka_lives_but_is_not_ready(lonely_gateway, minter):
    assert httpx.get(f"{lonely_gateway.http}/health").status_code == 200
    ready = httpx.get(f"{lonely_gateway.http}/ready")
    assert ready.status_code == 503
    assert "Kafka" in ready.json()["state"]

    async def scenario() -> None:
        client = await Client.open(lonely_gateway.ws, origin=lonely_gateway.origin)
        await client.send({"type": "auth", "token": minter.token(new_customer_id())})
        error = json.loads(await client.ws.recv())
        assert error["code"] == "not_ready"
        assert await client.closed_with() == 1013

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "path", ["/", "/index.html", "/app.js", "/config.json", "/health", "/metrics", "/no-such-page"]
)
def test_every_answer_carries_the_security_headers(gateway, path):
    headers = httpx.get(f"{gateway.http}{path}").headers
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"


def test_the_policy_lets_the_dashboard_reach_the_sign_in_and_its_feed_only(gateway):
    policy = httpx.get(f"{gateway.http}/").headers["content-security-policy"]
    [connect] = [part for part in policy.split("; ") if part.startswith("connect-src")]
    sor = httpx.get(f"{gateway.http}/config.json").json()["sor_url"]
    assert set(connect.split()[1:]) == {"'self'", sor, gateway.ws.removesuffix("/ws")}
