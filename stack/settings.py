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


def _at_least_one(name: str, default: int) -> int:
    value = env_int(name, default)
    if value < 1:
        raise ConfigurationError(f"{name}={value} must be at least 1")
    return value


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
    soe_gateways: int
    soe_gateway_port: int
    soi_web_port: int
    soi_workers: int
    kafka_heap: str
    connect_heap: str
    registry_heap: str

    @property
    def kafka_bootstrap(self) -> str:
        return env("BANK_KAFKA_BOOTSTRAP", f"{self.host}:{self.kafka_port}")

    @property
    def connect_url(self) -> str:
        return f"http://{self.host}:{self.connect_port}"

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

    def gateway_port(self, gateway: int) -> int:
        """Where gateway ``n`` listens: the dashboard's port itself when there is one gateway;
        behind the balancer (which then holds the dashboard's port) from
        BANK_SOE_GATEWAY_PORT on."""
        if self.soe_gateways == 1:
            return self.soe_port
        return self.soe_gateway_port + gateway - 1

    @property
    def dashboard_origins(self) -> list[str]:
        """Origins allowed to ask for live-feed tokens and to open the live feed."""
        default = f"{self.soe_url},http://localhost:{self.soe_port}"
        raw = env("BANK_DASHBOARD_ORIGINS", default)
        return [origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip()]

    def path(self, *parts: str) -> Path:
        return self.state_dir.joinpath(*parts)


@cache
def settings() -> Settings:
    registry_port = env_int("BANK_REGISTRY_PORT", 8081)
    soe_port = env_int("BANK_SOE_PORT", 8001)
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
        soe_port=soe_port,
        # Gateways, each with its one Kafka consumer; from two on, HAProxy holds BANK_SOE_PORT
        # and the gateways listen from BANK_SOE_GATEWAY_PORT on (the dashboard's port plus 10).
        soe_gateways=_at_least_one("BANK_SOE_GATEWAYS", 1),
        soe_gateway_port=env_int("BANK_SOE_GATEWAY_PORT", soe_port + 10),
        soi_web_port=env_int("BANK_SOI_WEB_PORT", 6066),
        # Faust workers sharing the input's partitions (each on the next web port).
        soi_workers=env_int("BANK_SOI_WORKERS", 1),
        kafka_heap=env("BANK_KAFKA_HEAP", "512m"),
        connect_heap=env("BANK_CONNECT_HEAP", "768m"),
        registry_heap=env("BANK_REGISTRY_HEAP", "256m"),
    )
