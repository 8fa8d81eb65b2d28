"""A real gateway process (uvicorn) against the real Kafka, with a signing key made per run.

The gateways read, and the tests write, scratch topics made for the session (BANK_TOPIC_NAMESPACE),
so the bank's real topics never see a test account or a deliberately broken record.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from mirakuru import HTTPExecutor

from bench.children import free_port
from events.topics import DerivedTopics
from kernel.kafka_client import librdkafka, producer_config
from kernel.settings import REPO_ROOT, settings
from kernel.wait import wait_until
from stack.balancer import Server, haproxy_config, server_states
from tests.support.balanced_gateways import BALANCED_PER_ADDRESS, Balanced
from tests.support.scratch_topics import scratch_topics
from tests.support.soe_live import IDLE_TIMEOUT_SECONDS, SEND_QUEUE_MESSAGES, Ledger, Minter

ARTIFACTS = REPO_ROOT / "test-artifacts"


class Gateway:
    def __init__(self, port: int, executor: HTTPExecutor, log: Path) -> None:
        self.port = port
        self.log = log
        self.executor = executor
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}/ws"
        self.origin = self.http

    def log_text(self) -> str:
        return self.log.read_text()

    @property
    def pid(self) -> int:
        return self.executor.process.pid

    def rss(self) -> int:
        return psutil.Process(self.pid).memory_info().rss

    def wait_idle(self, timeout: float = 20) -> None:
        """Until the gateway holds no websocket: the previous test's closes have landed."""
        wait_until(
            lambda: not (
                self.metric("soe_connections") or self.metric("soe_unauthenticated_connections")
            ),
            timeout=timeout,
            what="the gateway to let go of earlier connections",
        )

    def metric(self, name: str) -> float:
        """Sum of every sample of one metric (all label values)."""
        text = httpx.get(f"{self.http}/metrics", timeout=5).text
        samples = [
            line.rsplit(" ", 1)
            for line in text.splitlines()
            if line.startswith(name) and line[len(name)] in " {"
        ]
        return sum(float(value) for _, value in samples)


def _start_gateway(name: str, env: dict[str, str], ready_path: str) -> Iterator[Gateway]:
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"{name}.log"
    log = log_path.open("w")
    origin = f"http://127.0.0.1:{port}"
    executor = HTTPExecutor(
        [sys.executable, "-m", "soe", "--host=127.0.0.1", f"--port={port}"],
        url=f"{origin}{ready_path}",
        method="GET",
        status=200,
        timeout=90,
        cwd=str(REPO_ROOT),
        envvars={**os.environ, "BANK_DASHBOARD_ORIGINS": origin, **env},
        stdout=log,
        stderr=log,
    )
    executor.start()
    try:
        yield Gateway(port, executor, log_path)
    finally:
        executor.stop()
        log.close()


def _pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    bootstrap = settings().kafka_bootstrap
    admin = AdminClient(librdkafka(bootstrap, {"log_level": 0}))
    try:
        admin.list_topics(timeout=10)
    except Exception as error:
        pytest.fail(f"Kafka at {bootstrap} does not answer ({error}); start the stack: make up")
    return bootstrap


@pytest.fixture(scope="session")
def topics(kafka_bootstrap: str) -> Iterator[DerivedTopics]:
    """This session's own derived topics, deleted once every gateway of the session has stopped."""
    with scratch_topics(kafka_bootstrap, "test-soe") as scratch:
        yield scratch


@pytest.fixture(scope="session")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def minter(signing_key: Ed25519PrivateKey) -> Minter:
    return Minter(signing_key)


GATEWAY_ENV = {
    "BANK_SOE_SEND_QUEUE": str(SEND_QUEUE_MESSAGES),
    "BANK_SOE_HISTORY_PER_ACCOUNT": "200",
    "BANK_SOE_HEARTBEAT_SECONDS": "2",
    "BANK_SOE_IDLE_TIMEOUT_SECONDS": "60",
    "BANK_SOE_AUTH_TIMEOUT_SECONDS": "2",
    # The shared gateway serves a thousand clients from this one address in the capacity test,
    # and floods in the slow-client tests; the limits have a gateway of their own (strict_gateway).
    "BANK_SOE_MAX_CONNECTIONS_PER_ADDRESS": "5000",
    "BANK_SOE_MAX_CONNECTIONS_PER_PRINCIPAL": "1000",
    "BANK_SOE_MAX_UNAUTHENTICATED": "1000",
    "BANK_SOE_CLIENT_MESSAGES_PER_SECOND": "100000",
    "BANK_SOE_CLIENT_MESSAGE_BURST": "100000",
}
# Small limits, so each can be reached with a handful of connections.
STRICT_LIMITS = {
    "BANK_SOE_MAX_CONNECTIONS": "6",
    "BANK_SOE_MAX_CONNECTIONS_PER_ADDRESS": "4",
    "BANK_SOE_MAX_CONNECTIONS_PER_PRINCIPAL": "2",
    "BANK_SOE_MAX_UNAUTHENTICATED": "2",
    "BANK_SOE_CLIENT_MESSAGES_PER_SECOND": "2",
    "BANK_SOE_CLIENT_MESSAGE_BURST": "12",
}


def _gateway_env(
    bootstrap: str, topics: DerivedTopics, key: Ed25519PrivateKey, **overrides: str
) -> dict[str, str]:
    return {
        **GATEWAY_ENV,
        "BANK_KAFKA_BOOTSTRAP": bootstrap,
        "BANK_TOPIC_NAMESPACE": topics.namespace,
        "BANK_LIVE_TOKEN_PUBLIC_KEY": _pem(key),
        **overrides,
    }


@pytest.fixture(scope="session")
def gateway(
    kafka_bootstrap: str, topics: DerivedTopics, signing_key: Ed25519PrivateKey
) -> Iterator[Gateway]:
    env = _gateway_env(kafka_bootstrap, topics, signing_key)
    yield from _start_gateway("soe-gateway", env, "/ready")


@pytest.fixture(scope="session")
def lonely_gateway(signing_key: Ed25519PrivateKey) -> Iterator[Gateway]:
    """A gateway whose Kafka is not there: alive, never ready."""
    env = {
        **GATEWAY_ENV,
        "BANK_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
        "BANK_LIVE_TOKEN_PUBLIC_KEY": _pem(signing_key),
    }
    yield from _start_gateway("soe-gateway-without-kafka", env, "/health")


@pytest.fixture
def ledger(kafka_bootstrap: str, topics: DerivedTopics) -> Iterator[Ledger]:
    producer = Producer(
        producer_config(kafka_bootstrap, {"partitioner": "murmur2_random", "linger.ms": 0})
    )
    book = Ledger(producer, topics)
    try:
        yield book
    finally:
        book.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def own_gateway(
    kafka_bootstrap: str, topics: DerivedTopics, signing_key: Ed25519PrivateKey
) -> Iterator[Gateway]:
    """A gateway of this test alone, which the test may stop and start again on the same port."""
    env = _gateway_env(kafka_bootstrap, topics, signing_key)
    yield from _start_gateway("soe-gateway-restarted", env, "/ready")


@pytest.fixture
def impatient_gateway(
    kafka_bootstrap: str, topics: DerivedTopics, signing_key: Ed25519PrivateKey
) -> Iterator[Gateway]:
    """A gateway that closes silent clients after IDLE_TIMEOUT_SECONDS, checked every second."""
    env = _gateway_env(
        kafka_bootstrap,
        topics,
        signing_key,
        BANK_SOE_HEARTBEAT_SECONDS="1",
        BANK_SOE_IDLE_TIMEOUT_SECONDS=str(IDLE_TIMEOUT_SECONDS),
    )
    yield from _start_gateway("soe-gateway-impatient", env, "/ready")


@pytest.fixture(scope="session")
def strict_gateway(
    kafka_bootstrap: str, topics: DerivedTopics, signing_key: Ed25519PrivateKey
) -> Iterator[Gateway]:
    """A gateway with tiny connection and rate limits (STRICT_LIMITS)."""
    env = _gateway_env(kafka_bootstrap, topics, signing_key, **STRICT_LIMITS)
    yield from _start_gateway("soe-gateway-strict", env, "/ready")


@pytest.fixture
def crowd_gateway(
    kafka_bootstrap: str, topics: DerivedTopics, signing_key: Ed25519PrivateKey
) -> Iterator[Gateway]:
    """A gateway for thousands of clients of one test process: the usual sign-in time and
    heartbeat (a client process busy with 2,000 others may take more than the tests' 2 s to send
    its auth), and its connections gone with it, whatever the test left open."""
    env = _gateway_env(
        kafka_bootstrap,
        topics,
        signing_key,
        BANK_SOE_AUTH_TIMEOUT_SECONDS="10",
        BANK_SOE_HEARTBEAT_SECONDS="15",
    )
    yield from _start_gateway("soe-gateway-crowd", env, "/ready")


@pytest.fixture
def compressing_gateway(
    kafka_bootstrap: str, topics: DerivedTopics, signing_key: Ed25519PrivateKey
) -> Iterator[Gateway]:
    """A gateway that negotiates permessage-deflate, as BANK_SOE_WS_COMPRESSION=true asks."""
    env = _gateway_env(kafka_bootstrap, topics, signing_key, BANK_SOE_WS_COMPRESSION="true")
    yield from _start_gateway("soe-gateway-compressing", env, "/ready")


@pytest.fixture(scope="module")
def balanced(
    kafka_bootstrap: str, topics: DerivedTopics, signing_key: Ed25519PrivateKey
) -> Iterator[Balanced]:
    """A balancer on a free port in front of two gateways, for the tests of one module that
    kill none of them."""
    with _balanced(_gateway_env(kafka_bootstrap, topics, signing_key)) as both:
        yield both


@pytest.fixture
def balanced_to_kill(
    kafka_bootstrap: str, topics: DerivedTopics, signing_key: Ed25519PrivateKey
) -> Iterator[Balanced]:
    """A balancer on a free port in front of two gateways of this test alone."""
    with _balanced(_gateway_env(kafka_bootstrap, topics, signing_key)) as both:
        yield both


@contextlib.contextmanager
def _balanced(env: dict[str, str]) -> Iterator[Balanced]:
    """Two gateways (started at once) and HAProxy in front, configured by stack/balancer.py."""
    front = free_port()
    origin = f"http://127.0.0.1:{front}"
    env = {
        **env,
        "BANK_DASHBOARD_ORIGINS": origin,
        "BANK_TRUSTED_PROXIES": "127.0.0.1",
        "BANK_SOE_MAX_CONNECTIONS_PER_ADDRESS": str(BALANCED_PER_ADDRESS),
    }
    gateway = contextlib.contextmanager(_start_gateway)
    with contextlib.ExitStack() as started, ThreadPoolExecutor(2) as starting:
        names = [f"soe-balanced-{front}-{n}" for n in (1, 2)]
        starts = [
            starting.submit(started.enter_context, gateway(name, env, "/ready")) for name in names
        ]
        gateways = [start.result() for start in starts]
        config = ARTIFACTS / f"haproxy-{front}.cfg"
        config.write_text(
            haproxy_config(
                host="127.0.0.1",
                port=front,
                servers=[
                    Server(f"soe-{n}", "127.0.0.1", gateway.port)
                    for n, gateway in enumerate(gateways, 1)
                ],
                max_connections=2000,
                stats_socket=ARTIFACTS / f"haproxy-{front}.sock",
            )
        )
        log_path = ARTIFACTS / f"haproxy-{front}.log"
        log = started.enter_context(log_path.open("w"))
        executor = HTTPExecutor(
            ["haproxy", "-W", "-db", "-f", str(config)],
            url=f"{origin}/ready",
            method="GET",
            status=200,
            timeout=30,
            stdout=log,
            stderr=log,
        )
        executor.start()
        started.callback(executor.stop)
        balancer = Gateway(front, executor, log_path)
        _wait_until_both_up(balancer, gateways)
        yield Balanced(balancer, gateways)


def _wait_until_both_up(balancer: Gateway, gateways: list[Gateway], timeout: float = 15) -> None:
    """Until the balancer's health checks have found both gateways ready."""
    socket_path = ARTIFACTS / f"haproxy-{balancer.port}.sock"
    deadline = time.monotonic() + timeout
    while list((states := server_states(socket_path)).values()) != ["UP"] * len(gateways):
        assert time.monotonic() < deadline, f"the balancer sees the gateways as {states}"
        time.sleep(0.2)
