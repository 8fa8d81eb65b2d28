"""The options bankctl's commands share, and how every command reports an error."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.markup import escape

from kernel.settings import ConfigurationError
from ops import config, render
from ops.database import Database
from ops.errors import CANNOT, OpsError

P = ParamSpec("P")
R = TypeVar("R")

Bootstrap = Annotated[
    str | None,
    typer.Option(
        "--bootstrap",
        help="Kafka bootstrap servers. Default: BANK_KAFKA_BOOTSTRAP, else 127.0.0.1:9092.",
        show_default=False,
    ),
]
Timeout = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait for a service before giving up.")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="JSON for scripts instead of a table.")]


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """An OpsError becomes its message on stderr and exit code 3; Ctrl-C ends quietly."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (OpsError, ConfigurationError) as error:
            render.console(stderr=True).print(f"[bold red]error:[/] {escape(str(error))}")
            raise typer.Exit(CANNOT) from None
        except KeyboardInterrupt:
            raise typer.Exit(0) from None

    return wrapper


ConnectUrl = Annotated[
    str | None,
    typer.Option(
        "--connect-url",
        help="Kafka Connect's REST API. Default: http://BANK_HOST:BANK_CONNECT_PORT "
        "(http://127.0.0.1:8083).",
        show_default=False,
    ),
]
GatewayUrl = Annotated[
    str | None,
    typer.Option(
        "--gateway-url",
        help="The gateway. Default: http://BANK_HOST:BANK_SOE_PORT (http://127.0.0.1:8001).",
        show_default=False,
    ),
]
DbHost = Annotated[
    str | None,
    typer.Option(help="Database host. Default: BANK_DB_HOST, else BANK_HOST.", show_default=False),
]
DbPort = Annotated[
    int | None,
    typer.Option(help="Database port. Default: BANK_DB_PORT (3306).", show_default=False),
]
DbName = Annotated[
    str | None, typer.Option(help="Database. Default: BANK_DB_NAME (bank).", show_default=False)
]
DbUser = Annotated[
    str | None,
    typer.Option(
        help="Database user. Default: BANK_DB_USER (bank); the password is BANK_DB_PASSWORD.",
        show_default=False,
    ),
]


def open_database(
    host: str | None, port: int | None, name: str | None, user: str | None, timeout: float
) -> Database:
    return Database(config.database(host, port, name, user), timeout)
