"""The gateway's HTTP side: probes, metrics, the dashboard and its configuration."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from soe_live import Client, new_customer_id

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
