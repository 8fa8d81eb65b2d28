"""Readiness checks: how the runner (and the compose healthchecks) know a process can serve."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import httpx


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


@dataclass(frozen=True)
class TcpReady:
    """Ready once the port accepts connections."""

    host: str
    port: int

    def __call__(self) -> bool:
        return port_in_use(self.host, self.port)

    def describe(self) -> str:
        return f"tcp://{self.host}:{self.port} accepts connections"


@dataclass(frozen=True)
class HttpReady:
    """Ready once a GET on the URL answers 200."""

    url: str

    def __call__(self) -> bool:
        try:
            return httpx.get(self.url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def describe(self) -> str:
        return f"GET {self.url} answers 200"


@dataclass(frozen=True)
class KafkaReady:
    """Ready once the broker answers a metadata request (the port alone opens too early); a node
    of a cluster once the cluster's metadata lists it (it has joined, not only opened its port)."""

    bootstrap: str
    node_id: int | None = None

    def __call__(self) -> bool:
        from confluent_kafka.admin import AdminClient

        from kernel.kafka_client import librdkafka

        host, _, port = self.bootstrap.rpartition(":")
        if not port_in_use(host, int(port)):
            return False
        admin = AdminClient(librdkafka(self.bootstrap, {"log_level": 0}))
        try:
            metadata = admin.list_topics(timeout=2)
        except Exception:  # KafkaException while the controller elects itself
            return False
        if self.node_id is not None:
            return self.node_id in metadata.brokers
        return bool(metadata.brokers)

    def describe(self) -> str:
        joined = "" if self.node_id is None else f" listing node {self.node_id}"
        return f"kafka at {self.bootstrap} answers metadata requests{joined}"
