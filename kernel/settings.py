"""The bank's configuration: typed settings read from `BANK_*` environment variables.

Every component reads its settings through a class built on ``BankSettings``: the same names and
defaults everywhere, a value checked once when it is read, and an error that names the variable
to set. Defaults are for a developer's machine (loopback addresses, the local stack's ports). A
few of them are published in this repository (``LOCAL_ONLY_DEFAULTS``): those hold only while
``BANK_ENV`` is ``local``; anywhere else the variable must be set, and a password or key set to
its published value is refused.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

# Published, so only for a developer's machine: refused when BANK_ENV is not `local`.
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

Port = Annotated[int, Field(ge=1, le=65535)]


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
COUNTS = {
    "kafka_nodes": "BANK_KAFKA_NODES",
    "connect_workers": "BANK_CONNECT_WORKERS",
    "soi_workers": "BANK_SOI_WORKERS",
    "soe_gateways": "BANK_SOE_GATEWAYS",
}
SINGLE_HEAPS = {"kafka_heap": "512m", "connect_heap": "768m"}
# Heaps of a cluster's JVMs: three brokers and two Connect workers beside the rest of the stack
# on a 2-core / 24 GiB machine that other stacks share.
CLUSTER_HEAPS = {"kafka_heap": "384m", "connect_heap": "512m"}


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message says which variable to set."""


def _is_secret(variable: str) -> bool:
    return variable.endswith(("PASSWORD", "SECRET_KEY"))


def _kind(variable: str) -> str:
    return "key" if variable.endswith("KEY") else "password"


def local_only(variable: str) -> Any:
    """A field read from ``variable`` whose default is published: see LOCAL_ONLY_DEFAULTS."""
    return Field(default=None, validation_alias=variable, repr=False, validate_default=False)


class BankSettings(BaseSettings):
    """Base of every settings class: `BANK_` names, an empty variable counts as unset."""

    model_config = SettingsConfigDict(
        env_prefix="BANK_",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    environment: str = Field(default="local", validation_alias="BANK_ENV")

    @property
    def is_local(self) -> bool:
        return self.environment == "local"

    @model_validator(mode="after")
    def _checked(self) -> Self:
        self._local_only_defaults_stay_local()
        self._complete()
        return self

    def _complete(self) -> None:
        """Works out defaults from other fields and checks fields against each other."""

    def _local_only_defaults_stay_local(self) -> None:
        for name in type(self).model_fields:
            variable = variable_name(type(self), name)
            if variable not in LOCAL_ONLY_DEFAULTS:
                continue
            published = LOCAL_ONLY_DEFAULTS[variable]
            value = getattr(self, name)
            if value is not None:
                if value == published and _is_secret(variable) and not self.is_local:
                    raise ConfigurationError(
                        f"{variable} is the local-only {_kind(variable)} published in the "
                        f"repository; with BANK_ENV={self.environment!r} set one of your own"
                        + (" (50+ random characters)" if variable == "DJANGO_SECRET_KEY" else "")
                    )
                continue
            if not self.is_local:
                raise ConfigurationError(
                    f"{variable} must be set when BANK_ENV is not 'local' "
                    f"(BANK_ENV={self.environment!r})"
                )
            self._fill(name, published)

    def _fill(self, name: str, value: object) -> None:
        """Sets a default worked out from other fields, while the instance is being made."""
        object.__setattr__(self, name, value)

    # Fields whose default is worked out from other fields (see ``changed``).
    DERIVED: ClassVar[tuple[str, ...]] = ()

    def changed(self, **changes: Any) -> Self:
        """A copy with ``changes``; a default worked out from a changed field follows it."""
        kept = {name: None for name in self.DERIVED if name not in self.model_fields_set}
        changed = self.model_copy(update={**kept, **changes})
        changed._complete()
        return changed

    @classmethod
    def load(cls, **values: Any) -> Self:
        """The settings from the environment (``values`` win); ConfigurationError if wrong."""
        try:
            return cls(**values)
        except ValidationError as error:
            raise ConfigurationError(describe(cls, error)) from None


def variable_name(cls: type[BaseSettings], field: str) -> str:
    """The environment variable a field of ``cls`` is read from."""
    info = cls.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, str):
        return info.validation_alias
    if info is None:  # pydantic names a field by its alias when it has one
        return field
    return f"{cls.model_config.get('env_prefix', '')}{field}".upper()


def describe(cls: type[BaseSettings], error: ValidationError) -> str:
    """One line per wrong variable: its name, the value given and what is wrong with it."""
    lines = []
    for problem in error.errors():
        location = problem["loc"]
        variable = variable_name(cls, str(location[0])) if location else cls.__name__
        lines.append(f"{variable}={problem['input']!r}: {problem['msg']}")
    return "; ".join(lines)


def comma_separated(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


class Settings(BankSettings):
    """Where each part of the bank listens, shared by every component and the local runner."""

    state_dir: Path = REPO_ROOT / ".bank"
    host: str = "127.0.0.1"
    db_host: str | None = None  # the host above unless set
    db_port: Port = 3306
    db_name: str = "bank"
    db_user: str = "bank"
    kafka_port: Port = 9092
    kafka_controller_port: Port = 9093
    kafka_bootstrap: str | None = None  # the local broker unless set
    connect_port: Port = 8083
    registry_port: Port = 8081
    # Quarkus serves health on a management port of its own; next to the API's by default.
    registry_health_port: Port | None = None
    schema_registry_url: str | None = None  # the local registry's Confluent-compatible API
    sor_port: Port = 8000
    soe_port: Port = 8001
    soi_web_port: Port = 6066
    # single (every stage once) or cluster (a preset: TOPOLOGIES); each count below is a knob of
    # its own that wins over the preset.
    topology: str = "single"
    kafka_nodes: int | None = Field(default=None, ge=1)
    connect_workers: int | None = Field(default=None, ge=1)
    # Faust workers sharing the input's partitions (each on the next web port).
    soi_workers: int | None = Field(default=None, ge=1)
    # Gateways, each with its one Kafka consumer; from two on, HAProxy holds the dashboard's port
    # and the gateways listen from BANK_SOE_GATEWAY_PORT on (the dashboard's port plus 10).
    soe_gateways: int | None = Field(default=None, ge=1)
    soe_gateway_port: Port | None = None
    kafka_heap: str | None = None
    connect_heap: str | None = None
    registry_heap: str = "256m"
    dashboard_origins_text: str | None = Field(
        default=None, validation_alias="BANK_DASHBOARD_ORIGINS"
    )

    DERIVED = (
        "db_host",
        "kafka_bootstrap",
        "registry_health_port",
        "schema_registry_url",
        "soe_gateway_port",
        "kafka_nodes",
        "connect_workers",
        "soi_workers",
        "soe_gateways",
        "kafka_heap",
        "connect_heap",
    )

    def _complete(self) -> None:
        self._fill("state_dir", self.state_dir.expanduser().resolve())
        if self.topology not in TOPOLOGIES:
            raise ConfigurationError(
                f"BANK_TOPOLOGY={self.topology!r} is not one of {', '.join(TOPOLOGIES)}"
            )
        preset = TOPOLOGIES[self.topology]
        for field, variable in COUNTS.items():
            if getattr(self, field) is None:
                self._fill(field, preset[variable])
        heaps = CLUSTER_HEAPS if self.topology == "cluster" else SINGLE_HEAPS
        for field, heap in heaps.items():
            if getattr(self, field) is None:
                self._fill(field, heap)
        if self.db_host is None:
            self._fill("db_host", self.host)
        if self.kafka_bootstrap is None:
            nodes = [f"{self.host}:{self.kafka_node_port(n)}" for n in self.kafka_node_ids]
            self._fill("kafka_bootstrap", ",".join(nodes))
        if self.registry_health_port is None:
            self._fill("registry_health_port", self.registry_port + 1)
        if self.schema_registry_url is None:
            url = f"http://{self.host}:{self.registry_port}/apis/ccompat/v7"
            self._fill("schema_registry_url", url)
        if self.soe_gateway_port is None:
            self._fill("soe_gateway_port", self.soe_port + 10)

    @property
    def kafka_node_ids(self) -> range:
        return range(1, (self.kafka_nodes or 1) + 1)

    def kafka_node_port(self, node: int) -> int:
        """Node ``n`` listens for clients two ports after node n - 1 (9092, 9094, 9096), its
        controller one above that (9093, 9095, 9097)."""
        return self.kafka_port + 2 * (node - 1)

    def kafka_node_controller_port(self, node: int) -> int:
        return self.kafka_controller_port + 2 * (node - 1)

    @property
    def replication_factor(self) -> int:
        """Every topic's copies: one per node, up to three."""
        return min(self.kafka_nodes or 1, 3)

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
        return [self.connect_worker_url(n) for n in range(1, (self.connect_workers or 1) + 1)]

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
        assert self.soe_gateway_port is not None  # filled in by _complete
        return self.soe_gateway_port + gateway - 1

    @property
    def dashboard_origins(self) -> list[str]:
        """Origins allowed to ask for live-feed tokens and to open the live feed."""
        default = f"{self.soe_url},http://localhost:{self.soe_port}"
        text = self.dashboard_origins_text or default
        return [origin.rstrip("/") for origin in comma_separated(text)]

    def path(self, *parts: str) -> Path:
        return self.state_dir.joinpath(*parts)


@cache
def settings() -> Settings:
    """The shared settings, read once per process (tests clear the cache between tests)."""
    return Settings.load()


class DatabaseLogin(BankSettings):
    """The application's database account (the system of record, bankctl, the tests)."""

    password: str = local_only("BANK_DB_PASSWORD")


def database_login(config: Settings | None = None) -> dict[str, object]:
    """Keyword arguments of a MySQLdb connection as the application's account (BANK_DB_*)."""
    config = config or settings()
    return {
        "host": config.db_host,
        "port": config.db_port,
        "user": config.db_user,
        "password": DatabaseLogin.load().password,
        "database": config.db_name,
    }


class DatabaseAdministration(BankSettings):
    """The accounts the local runner and the compose file create besides the application's."""

    root_password: str = local_only("BANK_DB_ROOT_PASSWORD")
    cdc_password: str = local_only("BANK_CDC_DB_PASSWORD")


class ClerkLogin(BankSettings):
    """The first clerk, made by `ensure_clerk`; the benchmarks and tests sign in as this clerk."""

    username: str = local_only("DJANGO_SUPERUSER_USERNAME")
    password: str = local_only("DJANGO_SUPERUSER_PASSWORD")
    email: str = local_only("DJANGO_SUPERUSER_EMAIL")

    def sign_in(self) -> dict[str, str]:
        """The body of a sign-in at the system of record's API (token or live token)."""
        return {"username": self.username, "password": self.password}


class DemoLogin(BankSettings):
    """The password of the demo customers `populate_bank` makes."""

    password: str = local_only("BANK_DEMO_PASSWORD")


# The derived topics live under a namespace, so tests can run a gateway on scratch topics of their
# own without writing into the bank's real ones.
DEFAULT_NAMESPACE = "bank"
_LEGAL_NAMESPACE = re.compile(r"[A-Za-z0-9._-]{1,200}")  # Kafka allows these, up to 249 a name
# Every topic keyed by account id has this many partitions, CDC and derived alike: the worker's
# state topic is co-partitioned with its input, so the count is one setting for the broker, the
# connector, the worker and the tests.
DEFAULT_PARTITIONS = 6


def check_namespace(namespace: str) -> str:
    if not _LEGAL_NAMESPACE.fullmatch(namespace):
        raise ValueError(
            f"topic namespace {namespace!r} is not usable in a Kafka topic name: "
            "use 1 to 200 letters, digits, '.', '_' or '-'"
        )
    return namespace


class TopicSettings(BankSettings):
    """Which topics a process reads and writes, and how they are made (events/topics.py names
    them)."""

    model_config = SettingsConfigDict(env_prefix="BANK_TOPIC_")

    namespace: str = DEFAULT_NAMESPACE
    partitions: int = Field(default=DEFAULT_PARTITIONS, ge=1)
    # One copy per Kafka node of the topology, up to three (Settings.replication_factor).
    replication: int | None = Field(default=None, ge=1)
    # The connector's topic.prefix. Only a test's scratch worker sets it, to read CDC topics of
    # its own instead of the bank's.
    cdc_prefix: str = Field(default="sor", validation_alias="BANK_CDC_TOPIC_PREFIX")

    DERIVED = ("replication",)

    def _complete(self) -> None:
        if self.replication is None:
            self._fill("replication", settings().replication_factor)

    @property
    def min_insync(self) -> int:
        """With three copies a write waits for two of them (acks=all): losing a node loses
        nothing."""
        return 2 if (self.replication or 1) >= 3 else 1

    @field_validator("namespace")
    @classmethod
    def _usable_in_a_topic_name(cls, namespace: str) -> str:
        return check_namespace(namespace)
