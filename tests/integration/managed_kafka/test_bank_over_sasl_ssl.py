"""The bank pointed at a Kafka that takes only SASL_SSL with SCRAM-SHA-512, as a managed one does.

A broker of this module alone (tests/support/secured_kafka.py: its CA, certificate and SCRAM user
made at test time) runs beside the stack's; the worker, the gateway and bankctl are started with
nothing but the BANK_KAFKA_* variables a user would set, and a change written as Debezium writes
it reaches a customer's websocket through them. The stack's own broker never sees any of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from mirakuru import HTTPExecutor
from pydantic import SecretStr

from bench.bank_db import open_eur_account
from bench.children import free_port
from bench.live_feed import LiveFeed
from bench.teller import Teller
from events import topics
from kernel import live_token
from kernel.connector import load_connector
from kernel.kafka_client import KafkaClientSettings, producer_config
from kernel.settings import REPO_ROOT, settings
from ops.topic_reader import end_offsets, read
from stack import connector, processes
from tests.support.cdc_envelopes import account, envelope, ledger_entry
from tests.support.secured_kafka import SecuredBroker, secured_broker

pytestmark = pytest.mark.integration

BANKCTL = Path(sys.executable).parent / "bankctl"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    with secured_broker(tmp_path_factory.mktemp("sasl-ssl-kafka")) as running:
        yield running


@pytest.fixture(scope="module")
def bank_env(broker: SecuredBroker) -> Iterator[dict[str, str]]:
    """This process too reaches Kafka only through BANK_KAFKA_* (the tests' own helpers)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in broker.environment().items():
            patch.setenv(name, value)
        yield broker.environment()


@contextlib.contextmanager
def _running(
    name: str,
    command: list[str],
    ready: str,
    env: dict[str, str],
    folder: Path,
    exit_on_stop: int | None = None,
) -> Iterator[Path]:
    """A process of the bank until the block ends, ready once ``ready`` answers 200; its log."""
    log = folder / f"{name}.log"
    with log.open("w") as output:
        executor = HTTPExecutor(
            command,
            url=ready,
            method="GET",
            status=200,
            timeout=120,
            cwd=str(REPO_ROOT),
            envvars={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        executor.start()
        try:
            yield log
        finally:
            executor.stop(expected_returncode=exit_on_stop)


@pytest.fixture(scope="module")
def worker(bank_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The Faust worker, as `make up` starts it, on the secured broker; yields its log."""
    folder = tmp_path_factory.mktemp("worker")
    (folder / "data").mkdir()  # Faust makes its own folder in it
    port = free_port()
    command = [sys.executable, "-m", "faust", "-A", "soi.app", "worker", "--loglevel=info"]
    command += ["--web-bind=127.0.0.1", "--web-host=127.0.0.1", f"--web-port={port}"]
    env = {**bank_env, "BANK_STATE_DIR": str(folder)}
    with _running("worker", command, f"http://127.0.0.1:{port}/ready/", env, folder) as log:
        yield log


@pytest.fixture(scope="module")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def gateway(
    bank_env: dict[str, str],
    worker: Path,
    signing_key: Ed25519PrivateKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[int, Path]]:
    """The gateway on the secured broker (once the worker made the topics); (port, log)."""
    folder = tmp_path_factory.mktemp("gateway")
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    public_key = signing_key.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    env = {
        **bank_env,
        "BANK_STATE_DIR": str(folder),
        "BANK_DASHBOARD_ORIGINS": origin,
        "BANK_LIVE_TOKEN_PUBLIC_KEY": public_key.decode(),
    }
    command = [sys.executable, "-m", "uvicorn", "soe.app:app", "--host=127.0.0.1"]
    with _running("gateway", [*command, f"--port={port}"], f"{origin}/ready", env, folder) as log:
        yield port, log


@pytest.fixture(scope="module")
def connect(
    broker: SecuredBroker, bank_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, Path]]:
    """A second Kafka Connect worker, on a scratch port, with its worker properties rendered by
    the stack from BANK_KAFKA_*, running the bank's Debezium connector against the stack's
    database with a server id of its own; (REST URL, properties file, log)."""
    folder = tmp_path_factory.mktemp("connect")
    for jars in ("kafka", "connect-plugins"):
        (folder / "lib").mkdir(exist_ok=True)
        (folder / "lib" / jars).symlink_to(settings().path("lib", jars))
    config = settings().changed(state_dir=folder, connect_port=free_port(), connect_heap="512m")
    process = processes.connect(config)
    assert process.prepare is not None
    process.prepare()  # writes the worker properties
    properties = config.path("config", "connect-distributed.properties")
    ready = f"{config.connect_url}/connectors"
    env = {**bank_env, **process.env}
    # The JVM exits with 128 + 15 on SIGTERM.
    with _running("connect", process.command, ready, env, folder, exit_on_stop=143) as log:
        name, connector_config = load_connector()
        connector_config |= {
            # Beside the stack's own connector, reading the same binlog as another replica.
            "database.server.id": str(200_000 + secrets.randbelow(100_000)),
            # From the current binlog position: the test's change is all it needs to carry.
            "snapshot.mode": "no_data",
        }
        url = f"{config.connect_url}/connectors/{name}/config"
        response = httpx.put(url, json=connector_config, timeout=30)
        assert response.status_code < 400, response.text
        connector.wait_until_running(config, name, timeout=120)
        yield config.connect_url, properties, log


def _token(key: Ed25519PrivateKey, customer_id: int | None) -> str:
    now = int(time.time())
    claims = live_token.claims(
        subject=f"customer-{customer_id}" if customer_id else "clerk",
        customer_id=customer_id,
        staff=customer_id is None,
        issued_at=now,
        expires_at=now + 300,
    )
    return live_token.sign(claims, key)


def _authentication_errors(client: KafkaClientSettings) -> list[KafkaError]:
    errors: list[KafkaError] = []
    admin = AdminClient({**client.librdkafka(), "error_cb": errors.append, "log_level": 0})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)
    admin.poll(1)  # serves the error callbacks
    return [e for e in errors if e.code() == KafkaError._AUTHENTICATION]


def test_the_broker_refuses_a_client_without_the_password(broker: SecuredBroker):
    # The proof below means something only if the listener really asks for SCRAM over TLS.
    wrong = broker.client.model_copy(update={"sasl_password": SecretStr("not-the-password")})
    assert _authentication_errors(wrong), "a wrong password was not refused by authentication"
    plaintext = AdminClient({"bootstrap.servers": broker.client.bootstrap, "log_level": 0})
    with pytest.raises(KafkaException):
        plaintext.list_topics(timeout=3)


def _bankctl(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "COLUMNS": "200", **env}
    return subprocess.run([str(BANKCTL), *args], env=environment, capture_output=True, text=True)


def test_bankctl_says_which_setting_is_wrong_and_never_shows_the_password(
    broker: SecuredBroker,
):
    wrong_password = f"wrong-{secrets.token_hex(8)}"
    refused = _bankctl(
        "topics", **{**broker.environment(), "BANK_KAFKA_SASL_PASSWORD": wrong_password}
    )
    assert refused.returncode == 3, refused.stderr
    assert "authentication" in refused.stderr.lower()
    assert "BANK_KAFKA_SASL_PASSWORD" in refused.stderr
    assert wrong_password not in refused.stdout + refused.stderr
    # Without the CA the broker's certificate cannot be checked, and the client will not go on.
    untrusted = _bankctl("topics", **{**broker.environment(), "BANK_KAFKA_SSL_CA_LOCATION": ""})
    assert untrusted.returncode == 3, untrusted.stderr
    assert "certificate verify failed" in untrusted.stderr
    assert "BANK_KAFKA_SSL_CA_LOCATION" in untrusted.stderr


def test_a_change_reaches_the_customers_websocket_over_sasl_ssl(
    broker: SecuredBroker,
    bank_env: dict[str, str],
    worker: Path,
    gateway: tuple[int, Path],
    signing_key: Ed25519PrivateKey,
):
    port, gateway_log = gateway
    account_id = 10**9 + secrets.randbelow(10**8)
    customer_id = 10**9 + secrets.randbelow(10**8)
    iban = f"DE{secrets.randbelow(90) + 10}{secrets.randbelow(10**18):018d}"
    row = {"id": account_id, "iban": iban, "customer_id": customer_id}
    producer = Producer(producer_config(extra={"partitioner": "murmur2_random", "linger.ms": 0}))
    key = json.dumps({"account_id": account_id}).encode()

    def capture(*records: bytes) -> None:
        for value in records:
            producer.produce(topics.CDC_MONEY, value, key)
        assert producer.flush(15) == 0, "the secured broker did not take the CDC records"

    gtid = f"0-1-{secrets.randbelow(10**6)}"
    capture(envelope("c", None, account(50_000, **row), pos=100, gtid=f"{gtid}0"))

    async def watch_a_deposit() -> dict:
        config = settings().changed(soe_port=port)
        feed = await LiveFeed.open(config, _token(signing_key, customer_id), [iban])
        try:
            snapshot = await feed.next_matching("snapshot", iban, timeout=60)
            assert snapshot["balance"] == 50_000, snapshot
            entry = ledger_entry(1_234, 51_234, id=account_id, account_id=account_id)
            capture(
                envelope("c", None, entry, pos=200, table="ledger_entry", gtid=gtid),
                envelope("u", account(50_000, **row), account(51_234, **row), pos=201, gtid=gtid),
            )
            return await feed.next_matching("balance_changed", iban, timeout=60)
        finally:
            await feed.close()

    change = asyncio.run(watch_a_deposit())
    assert (change["old_balance"], change["delta"], change["new_balance"]) == (
        50_000,
        1_234,
        51_234,
    )
    # Written by the worker over SASL_SSL, as the tests' own reader sees over SASL_SSL: the
    # opening and the deposit, each once.
    derived = read(broker.client.bootstrap, topics.BANK.balance_changed)
    assert [r.value["new_balance"] for r in derived if r.value["iban"] == iban] == [
        50_000,
        51_234,
    ]

    listing = _bankctl("topics", **bank_env)
    assert listing.returncode == 0, listing.stderr
    for name in (topics.CDC_MONEY, *topics.BANK.names()):
        assert name in listing.stdout, f"bankctl did not list {name}:\n{listing.stdout}"

    password = bank_env["BANK_KAFKA_SASL_PASSWORD"]
    for output in (worker.read_text(), gateway_log.read_text(), listing.stdout, listing.stderr):
        assert password not in output


def test_a_clerks_deposit_travels_debezium_the_worker_and_the_gateway_over_sasl_ssl(
    broker: SecuredBroker,
    bank_env: dict[str, str],
    worker: Path,
    gateway: tuple[int, Path],
    connect: tuple[str, Path, Path],
    signing_key: Ed25519PrivateKey,
):
    connect_url, worker_properties, connect_log = connect
    target = open_eur_account(settings())
    start = end_offsets(broker.client.bootstrap, topics.BANK.balance_changed)
    booking = Teller(settings()).deposit(target.iban, 777, "managed Kafka test")

    def derived(records) -> bool:
        return any(r.value["iban"] == target.iban for r in records)

    records = read(
        broker.client.bootstrap, topics.BANK.balance_changed, start, until=derived, timeout=120
    )
    [change] = [r.value for r in records if r.value["iban"] == target.iban]
    # (Without a snapshot the worker meets the account first in this change, so the ledger entry
    # has no account memory to wait in: the event carries the balances, not the entry's reason.)
    assert (change["old_balance"], change["delta"], change["new_balance"]) == (
        booking.balance_after - 777,
        777,
        booking.balance_after,
    )

    async def balance_on_screen() -> int:
        config = settings().changed(soe_port=gateway[0])
        feed = await LiveFeed.open(config, _token(signing_key, None), [target.iban])
        try:
            return (await feed.next_matching("snapshot", target.iban, timeout=60))["balance"]
        finally:
            await feed.close()

    assert asyncio.run(balance_on_screen()) == booking.balance_after

    password = bank_env["BANK_KAFKA_SASL_PASSWORD"]
    shown = httpx.get(f"{connect_url}/connectors/bank-sor/config", timeout=10).text
    assert "schema.history.internal.producer.sasl.jaas.config" in shown
    for text in (shown, worker_properties.read_text(), connect_log.read_text()):
        assert password not in text
