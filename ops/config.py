"""Where the services are: the bank's settings (kernel.settings), or flags."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.settings import ConfigurationError, DatabaseLogin, settings
from ops.errors import OpsError


@dataclass(frozen=True)
class DatabaseAddress:
    host: str
    port: int
    name: str
    user: str
    password: str

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.name}"


def kafka_bootstrap(override: str | None = None) -> str:
    return override or settings().kafka_bootstrap


def connect_url(override: str | None = None) -> str:
    return (override or settings().connect_url).rstrip("/")


def gateway_url(override: str | None = None) -> str:
    return (override or settings().soe_url).rstrip("/")


def database(
    host: str | None = None,
    port: int | None = None,
    name: str | None = None,
    user: str | None = None,
) -> DatabaseAddress:
    """The system of record's database, as Django finds it (BANK_DB_*), with flags on top."""
    stack = settings()
    try:
        password = DatabaseLogin.load().password
    except ConfigurationError as error:
        raise OpsError(str(error), hint="export BANK_DB_PASSWORD") from None
    return DatabaseAddress(
        host=host or str(stack.db_host),
        port=port or stack.db_port,
        name=name or stack.db_name,
        user=user or stack.db_user,
        password=password,
    )
