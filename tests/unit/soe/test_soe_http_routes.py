"""The gateway's HTTP routes in-process (FastAPI's TestClient, the app's own lifespan), with no
Kafka to read: what a load balancer, Prometheus, bankctl and the dashboard get from it then."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bench.children import free_port
from soe.app import MAX_FAN_OUT_IDS, create_app
from soe.config import load_config

pytestmark = pytest.mark.unit


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    # Nothing listens there: the feed keeps trying, the routes answer meanwhile.
    monkeypatch.setenv("BANK_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("BANK_SOR_PUBLIC_URL", "http://sor.bank.test")
    with TestClient(create_app(load_config())) as client:
        yield client


def test_it_is_alive_but_not_ready_before_it_has_read_the_topics(gateway):
    assert gateway.get("/health").json() == {"status": "alive"}
    ready = gateway.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["ready"] is False
    assert ready.json()["connections"] == 0


def test_the_dashboard_learns_where_to_sign_in(gateway):
    config = gateway.get("/config.json").json()
    assert config["sor_url"] == "http://sor.bank.test"
    assert config["token_url"] == "http://sor.bank.test/api/auth/live-token/"
    assert config["feed_path"] == "/ws"
    assert config["currency_exponents"]["JPY"] == 0


def test_the_dashboard_is_served_with_the_security_headers(gateway):
    page = gateway.get("/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors" in page.headers["content-security-policy"]
    assert gateway.get("/health").headers["x-content-type-options"] == "nosniff"


def test_an_event_the_gateway_has_not_fanned_out_is_absent(gateway):
    assert gateway.get("/fan-out", params={"event_id": ["sor:0-1-1:0"]}).json() == {}


def test_more_event_ids_than_one_question_holds_are_refused(gateway):
    too_many = [f"sor:0-1-{n}:0" for n in range(MAX_FAN_OUT_IDS + 1)]
    assert gateway.get("/fan-out", params={"event_id": too_many}).status_code == 422


def test_prometheus_reads_the_gateway_s_metrics(gateway):
    metrics = gateway.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "soe_" in metrics.text
