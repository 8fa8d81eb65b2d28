"""Registering the Debezium connector from connect/ and waiting until its task runs."""

from __future__ import annotations

from pathlib import Path

import httpx

from kernel.connector import CONNECTOR_FILE, load_connector
from kernel.settings import Settings
from kernel.wait import poll


class ConnectorFailed(RuntimeError):
    pass


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
    last: dict = {}

    def running() -> bool:
        nonlocal last
        try:
            last = connector_state(settings, name)
        except httpx.HTTPError:
            return False
        tasks = last.get("tasks", [])
        failed = [t for t in tasks if t.get("state") == "FAILED"]
        if last.get("connector", {}).get("state") == "FAILED" or failed:
            trace = (failed[0] if failed else last["connector"]).get("trace", "")
            raise ConnectorFailed(f"connector {name} failed:\n{trace[:4000]}")
        return (
            last.get("connector", {}).get("state") == "RUNNING"
            and bool(tasks)
            and all(t.get("state") == "RUNNING" for t in tasks)
        )

    if not poll(running, until=bool, timeout=timeout, every=0.5):
        raise ConnectorFailed(
            f"connector {name} not RUNNING after {timeout:.0f}s; last status {last}"
        )
