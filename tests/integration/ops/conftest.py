"""bankctl against the running stack: its real entry point, scratch topics made and deleted per
test, a deliberately broken connector, and balance changes booked through the system of record.
Nothing here stops or changes the stack's own connector, topics or worker."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from click.testing import Result
from confluent_kafka.admin import AdminClient, NewTopic
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed
from typer.testing import CliRunner

from bench.teller import Teller
from kernel.connector import load_connector
from kernel.kafka_client import librdkafka
from kernel.settings import settings
from ops.cli import app
from tests.support.ops_stack import BrokenConnector, NotFailedYet
from tests.support.registry import forget_subjects

Bankctl = Callable[..., Result]


@pytest.fixture
def bankctl() -> Bankctl:
    """Runs `bankctl ARGS...` through typer's runner; the result has output and exit_code."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def admin() -> AdminClient:
    return AdminClient(librdkafka())


def _delete_topics(admin: AdminClient, names: list[str]) -> None:
    for future in admin.delete_topics(names, operation_timeout=30).values():
        future.result()


@pytest.fixture
def scratch_topic(admin: AdminClient) -> Iterator[Callable[..., str]]:
    """Makes topics with unique names for one test and deletes them after it."""
    made: list[str] = []

    def make(partitions: int = 1, **config: str) -> str:
        name = f"bankctl-test-{uuid.uuid4().hex[:10]}"
        (future,) = admin.create_topics([NewTopic(name, partitions, 1, config=config)]).values()
        future.result()
        made.append(name)
        return name

    yield make
    if made:
        _delete_topics(admin, made)
        forget_subjects(made)


@pytest.fixture(scope="session")
def teller() -> Teller:
    return Teller(settings())


# --- a connector that fails ---------------------------------------------------------------------


@pytest.fixture
def broken_connector(admin: AdminClient) -> Iterator[BrokenConnector]:
    """A second Debezium connector, with its own name, server id and topic prefix, that reads
    only the customer table (no snapshot locks) and whose task fails on its first record: its
    key transform extracts a field that does not exist. The bank's connector is not touched."""
    connect = settings().connect_url
    suffix = uuid.uuid4().hex[:8]
    broken = BrokenConnector(f"bankctl-test-broken-{suffix}", f"bankctltest{suffix}")
    _, base = load_connector()
    config = {
        key: value
        for key, value in base.items()
        if not key.startswith(("transforms", "predicates", "message.key.columns"))
    }
    config.update(
        {
            "topic.prefix": broken.topic_prefix,
            "database.server.id": str(random.randint(200_000, 299_999)),
            "schema.history.internal.kafka.topic": f"{broken.topic_prefix}.schema-history",
            "table.include.list": "bank.customer",
            "snapshot.locking.mode": "none",
            "transforms": "broken",
            "transforms.broken.type": "org.apache.kafka.connect.transforms.ExtractField$Key",
            "transforms.broken.field": "no_such_field",
        }
    )
    response = httpx.put(f"{connect}/connectors/{broken.name}/config", json=config, timeout=60)
    assert response.status_code in (200, 201), response.text

    @retry(
        retry=retry_if_exception_type(NotFailedYet),
        stop=stop_after_delay(60),
        wait=wait_fixed(0.5),
        reraise=True,
    )
    def until_failed() -> None:
        status = httpx.get(f"{connect}/connectors/{broken.name}/status", timeout=10).json()
        if not any(t.get("state") == "FAILED" for t in status.get("tasks", [])):
            raise NotFailedYet(f"{broken.name} has not failed yet: {json.dumps(status)[:500]}")

    try:
        until_failed()
        yield broken
    finally:
        httpx.delete(f"{connect}/connectors/{broken.name}", timeout=30)
        leftovers = [
            t for t in admin.list_topics(timeout=10).topics if t.startswith(broken.topic_prefix)
        ]
        if leftovers:
            _delete_topics(admin, leftovers)
