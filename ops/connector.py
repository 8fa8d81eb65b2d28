"""Kafka Connect's REST API: connectors, their tasks' states and traces, restart, pause, resume."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from ops.errors import NotFound, OpsError, Unreachable


@dataclass(frozen=True)
class TaskStatus:
    id: int
    state: str
    worker: str | None
    trace: str | None


@dataclass(frozen=True)
class ConnectorStatus:
    name: str
    type: str | None
    state: str
    worker: str | None
    trace: str | None
    tasks: list[TaskStatus]

    @property
    def failed(self) -> bool:
        return self.state == "FAILED" or any(t.state == "FAILED" for t in self.tasks)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "failed": self.failed}

    @classmethod
    def from_rest(cls, data: dict[str, Any]) -> ConnectorStatus:
        connector = data.get("connector", {})
        return cls(
            name=data["name"],
            type=data.get("type"),
            state=connector.get("state", "UNKNOWN"),
            worker=connector.get("worker_id"),
            trace=connector.get("trace"),
            tasks=[
                TaskStatus(t["id"], t.get("state", "UNKNOWN"), t.get("worker_id"), t.get("trace"))
                for t in sorted(data.get("tasks", []), key=lambda t: t["id"])
            ],
        )


class Connect:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    def _request(self, method: str, path: str, name: str | None = None) -> httpx.Response:
        try:
            response = httpx.request(method, f"{self.url}{path}", timeout=self.timeout)
        except httpx.HTTPError as error:
            raise Unreachable(
                f"Kafka Connect is not answering: {error or type(error).__name__}",
                where=self.url,
                hint="is the stack up? `make status`; set BANK_CONNECT_PORT or pass --connect-url",
            ) from None
        if response.status_code == 404 and name is not None:
            known = ", ".join(self.names()) or "none"
            raise NotFound(
                f"there is no connector {name!r}",
                where=self.url,
                hint=f"the connectors registered are: {known}",
            )
        if response.status_code == 409:
            raise OpsError(
                "Kafka Connect is rebalancing its workers",
                where=self.url,
                hint="try again in a few seconds",
            )
        if response.status_code >= 400:
            raise OpsError(
                f"Kafka Connect answered {response.status_code}: {_message(response)}",
                where=f"{method} {self.url}{path}",
            )
        return response

    def names(self) -> list[str]:
        return sorted(self._request("GET", "/connectors").json())

    def status(self, name: str) -> ConnectorStatus:
        return ConnectorStatus.from_rest(
            self._request("GET", f"/connectors/{name}/status", name).json()
        )

    def offsets(self, name: str) -> list[dict[str, Any]]:
        """The source positions the connector has committed (KIP-875)."""
        return self._request("GET", f"/connectors/{name}/offsets", name).json().get("offsets", [])

    def restart(self, name: str, only_failed: bool = False) -> None:
        flag = "true" if only_failed else "false"
        self._request(
            "POST", f"/connectors/{name}/restart?includeTasks=true&onlyFailed={flag}", name
        )

    def pause(self, name: str) -> None:
        self._request("PUT", f"/connectors/{name}/pause", name)

    def resume(self, name: str) -> None:
        self._request("PUT", f"/connectors/{name}/resume", name)

    def watch(
        self,
        name: str,
        reached: Callable[[ConnectorStatus], bool],
        wait: float,
        stable: float = 0.0,
        stop_on_failure: bool = False,
    ) -> ConnectorStatus:
        """Poll the status until `reached` has held for `stable` seconds (a restarted task can
        fail again a moment after it runs), a task fails (when asked), or `wait` has passed."""
        deadline = time.monotonic() + wait
        since: float | None = None
        while True:
            status, now = self.status(name), time.monotonic()
            if (stop_on_failure and status.failed) or now > deadline:
                return status
            if not reached(status):
                since = None
            elif since is None:
                since = now
            if since is not None and now - since >= stable:
                return status
            time.sleep(0.25)


def running(status: ConnectorStatus) -> bool:
    return status.state == "RUNNING" and all(t.state == "RUNNING" for t in status.tasks)


def paused(status: ConnectorStatus) -> bool:
    return status.state == "PAUSED"


def resumed(status: ConnectorStatus) -> bool:
    return status.state == "RUNNING"


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text[:500]
