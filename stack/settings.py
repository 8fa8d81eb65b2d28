"""Configuration of the local stack, read from the environment with loopback defaults.

Every process of the bank reads the same variable names, so the local runner, the compose file,
the tests and the ops CLI agree. Defaults marked LOCAL-ONLY are for a developer's machine and are
refused when BANK_ENV is not ``local``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LOG4J_CONFIG = REPO_ROOT / "connect" / "log4j2.properties"

LOCAL_ONLY_DEFAULTS = {
    "BANK_DB_PASSWORD": "bank-local-only",
    "BANK_DB_ROOT_PASSWORD": "root-local-only",
    "BANK_CDC_DB_PASSWORD": "cdc-local-only",
    "DJANGO_SECRET_KEY": "django-insecure-local-only-secret-key-change-me",
    "DJANGO_SUPERUSER_USERNAME": "clerk",
    "DJANGO_SUPERUSER_PASSWORD": "clerk-local-only",
    "DJANGO_SUPERUSER_EMAIL": "clerk@bank.local",
    "BANK_DEMO_PASSWORD": "demo-local-only",
}


# What BANK_TOPOLOGY=cluster fills in, each a knob of its own that the environment can still set:
# every stage replicated (Kafka 3 nodes, Connect 2 workers, Faust 2 workers, 2 gateways).
TOPOLOGIES: dict[str, dict[str, int]] = {
    "single": {
        "BANK_KAFKA_NODES": 1,
        "BANK_CONNECT_WORKERS": 1,
        "BANK_SOI_WORKERS": 1,
        "BANK_SOE_GATEWAYS": 1,
    },
    "cluster": {
        "BANK_KAFKA_NODES": 3,
        "BANK_CONNECT_WORKERS": 2,
        "BANK_SOI_WORKERS": 2,
        "BANK_SOE_GATEWAYS": 2,
    },
}
# Heaps of a cluster's JVMs: three brokers and two Connect workers beside the rest of the stack
# on a 2-core / 24 GiB machine that other stacks share.
CLUSTER_HEAPS = {"BANK_KAFKA_HEAP": "384m", "BANK_CONNECT_HEAP": "512m"}


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message says which variable to set."""


def env(name: str, default: str | None = None) -> str:
    """Read a variable; LOCAL-ONLY defaults apply only when BANK_ENV is local (the default)."""
    value = os.environ.get(name)
    if value:
        return value
    if name in LOCAL_ONLY_DEFAULTS:
        if os.environ.get("BANK_ENV", "local") != "local":
            raise ConfigurationError(f"{name} must be set when BANK_ENV is not 'local'")
        return LOCAL_ONLY_DEFAULTS[name]
    if default is None:
        raise ConfigurationError(f"{name} must be set")
    return default


def env_int(name: str, default: int) -> int:
    raw = env(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number") from None


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    host: str
    db_port: int
    db_name: str
    db_user: str
    kafka_port: int
    kafka_controller_port: int
    connect_port: int
    registry_port: int
    registry_health_port: int
    sor_port: int
    soe_port: int
    soi_web_port: int
    soi_workers: int
    topology: str
    kafka_nodes: int
    connect_workers: int
    soe_gateways: int
    kafka_heap: str
    connect_heap: str
    registry_heap: str

    @property
    def kafka_bootstrap(self) -> str:
        nodes = ",".join(f"{self.host}:{self.kafka_node_port(n)}" for n in self.kafka_node_ids)
        return env("BANK_KAFKA_BOOTSTRAP", nodes)

    @property
    def kafka_node_ids(self) -> range:
        return range(1, self.kafka_nodes + 1)

    def kafka_node_port(self, node: int) -> int:
        """Node ``n`` listens for clients two ports after node n - 1 (9092, 9094, 9096), its
        controller one above that (9093, 9095, 9097)."""
        return self.kafka_port + 2 * (node - 1)

    def kafka_node_controller_port(self, node: int) -> int:
        return self.kafka_controller_port + 2 * (node - 1)

    @property
    def replication_factor(self) -> int:
        """Every topic's copies: one per node, up to three."""
        return min(self.kafka_nodes, 3)

    @property
    def min_insync_replicas(self) -> int:
        """With three copies a write waits for two: one node may be lost, none acknowledged."""
        return 2 if self.replication_factor >= 3 else 1

    @property
    def connect_url(self) -> str:
        return self.connect_worker_url(1)

    def connect_worker_port(self, worker: int) -> int:
        """Connect worker ``n`` serves its REST API on the first one's port plus n - 1."""
        return self.connect_port + worker - 1

    def connect_worker_url(self, worker: int) -> str:
        return f"http://{self.host}:{self.connect_worker_port(worker)}"

    @property
    def connect_worker_urls(self) -> list[str]:
        return [self.connect_worker_url(n) for n in range(1, self.connect_workers + 1)]

    @property
    def schema_registry_url(self) -> str:
        """The registry's Confluent-compatible API, which every Avro reader and writer uses."""
        from events.codec import registry_url

        return registry_url()

    @property
    def sor_url(self) -> str:
        return f"http://{self.host}:{self.sor_port}"

    @property
    def soe_url(self) -> str:
        return f"http://{self.host}:{self.soe_port}"

    @property
    def dashboard_origins(self) -> list[str]:
        """Origins allowed to ask for live-feed tokens and to open the live feed."""
        default = f"{self.soe_url},http://localhost:{self.soe_port}"
        raw = env("BANK_DASHBOARD_ORIGINS", default)
        return [origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip()]

    def path(self, *parts: str) -> Path:
        return self.state_dir.joinpath(*parts)


def topology() -> str:
    name = env("BANK_TOPOLOGY", "single").strip().lower()
    if name not in TOPOLOGIES:
        raise ConfigurationError(f"BANK_TOPOLOGY={name!r} is not one of {', '.join(TOPOLOGIES)}")
    return name


def _count(name: str, preset: str) -> int:
    """A stage's number of processes: its own variable, else the topology's preset."""
    count = env_int(name, TOPOLOGIES[preset][name])
    if count < 1:
        raise ConfigurationError(f"{name}={count} must be at least 1")
    return count


@cache
def settings() -> Settings:
    registry_port = env_int("BANK_REGISTRY_PORT", 8081)
    preset = topology()
    heaps = CLUSTER_HEAPS if preset == "cluster" else {}
    return Settings(
        state_dir=Path(env("BANK_STATE_DIR", str(REPO_ROOT / ".bank"))).resolve(),
        host=env("BANK_HOST", "127.0.0.1"),
        db_port=env_int("BANK_DB_PORT", 3306),
        db_name=env("BANK_DB_NAME", "bank"),
        db_user=env("BANK_DB_USER", "bank"),
        kafka_port=env_int("BANK_KAFKA_PORT", 9092),
        kafka_controller_port=env_int("BANK_KAFKA_CONTROLLER_PORT", 9093),
        connect_port=env_int("BANK_CONNECT_PORT", 8083),
        registry_port=registry_port,
        # Quarkus serves health on a management port of its own; next to the API's by default.
        registry_health_port=env_int("BANK_REGISTRY_HEALTH_PORT", registry_port + 1),
        sor_port=env_int("BANK_SOR_PORT", 8000),
        soe_port=env_int("BANK_SOE_PORT", 8001),
        soi_web_port=env_int("BANK_SOI_WEB_PORT", 6066),
        # Faust workers sharing the input's partitions (each on the next web port).
        soi_workers=_count("BANK_SOI_WORKERS", preset),
        topology=preset,
        kafka_nodes=_count("BANK_KAFKA_NODES", preset),
        connect_workers=_count("BANK_CONNECT_WORKERS", preset),
        soe_gateways=_count("BANK_SOE_GATEWAYS", preset),
        kafka_heap=env("BANK_KAFKA_HEAP", heaps.get("BANK_KAFKA_HEAP", "512m")),
        connect_heap=env("BANK_CONNECT_HEAP", heaps.get("BANK_CONNECT_HEAP", "768m")),
        registry_heap=env("BANK_REGISTRY_HEAP", "256m"),
    )
