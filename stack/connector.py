"""Registering the Debezium connector from connect/ and waiting until its task runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from stack import kafka_client
from stack.settings import REPO_ROOT, Settings, settings

CONNECTOR_FILE = REPO_ROOT / "connect" / "sor-connector.json"


class ConnectorFailed(RuntimeError):
    pass


def load_connector(path: Path = CONNECTOR_FILE) -> tuple[str, dict[str, str]]:
    """The connector's name and config, with the TLS and SASL settings of Debezium's schema-history
    clients (they do not inherit the worker's) from the environment, and the topology's
    replication."""
    spec = json.loads(path.read_text())
    security = kafka_client.from_environment().debezium_schema_history()
    return spec["name"], {**spec["config"], **security, **replication(settings())}


def replication(config: Settings) -> dict[str, str]:
    """The CDC topics Connect creates get a copy per Kafka node (the file's 1 is the single
    node's) and, on a cluster, wait for two copies of each write. Debezium's schema history
    writes with acks=1 unless told: on a cluster it waits for every in-sync copy too."""
    if config.replication_factor == 1:
        return {}
    return {
        "topic.creation.default.replication.factor": str(config.replication_factor),
        "topic.creation.default.min.insync.replicas": str(config.min_insync_replicas),
        "schema.history.internal.producer.acks": "all",
    }


def register(settings: Settings, path: Path = CONNECTOR_FILE) -> str:
    """PUT the config (create or update, idempotent) and return the connector's name."""
    name, config = load_connector(path)
    response = httpx.put(
        f"{settings.connect_url}/connectors/{name}/config", json=config, timeout=30
    )
    if response.status_code >= 400:
        raise ConnectorFailed(
            f"Kafka Connect refused connector {name} ({response.status_code}): {response.text}"
        )
    return name


def connector_state(settings: Settings, name: str) -> dict:
    response = httpx.get(f"{settings.connect_url}/connectors/{name}/status", timeout=10)
    response.raise_for_status()
    return response.json()


def wait_until_running(settings: Settings, name: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        try:
            last = connector_state(settings, name)
        except httpx.HTTPError:
            time.sleep(0.5)
            continue
        tasks = last.get("tasks", [])
        failed = [t for t in tasks if t.get("state") == "FAILED"]
        if last.get("connector", {}).get("state") == "FAILED" or failed:
            trace = (failed[0] if failed else last["connector"]).get("trace", "")
            raise ConnectorFailed(f"connector {name} failed:\n{trace[:4000]}")
        if (
            last.get("connector", {}).get("state") == "RUNNING"
            and tasks
            and all(t.get("state") == "RUNNING" for t in tasks)
        ):
            return
        time.sleep(0.5)
    raise ConnectorFailed(f"connector {name} not RUNNING after {timeout:.0f}s; last status {last}")
