"""What a process of the stack is, and the helpers every definition of one uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kernel.settings import Settings
from stack import LOG4J_CONFIG

Readiness = Callable[[], bool]


@dataclass(frozen=True)
class Process:
    """A long-running process of the stack."""

    name: str
    description: str
    command: list[str]
    ports: dict[str, int]
    ready: Readiness
    env: dict[str, str] = field(default_factory=dict)
    # Variables (beyond BANK_*) the process reads; the compose file must pass the same ones.
    env_names: tuple[str, ...] = ()
    start_timeout: float = 120.0
    prepare: Callable[[], None] | None = None


def java_command(
    settings: Settings, heap: str, main_class: str, *args: str, log_name: str
) -> list[str]:
    return [
        "java",
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        f"-Dkafka.logs.dir={settings.path('logs')}",
        f"-Dbank.log.name={log_name}",
        "-cp",
        f"{settings.path('lib', 'kafka')}/*",
        main_class,
        *args,
    ]


def write_properties(path: Path, properties: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Rendered by the stack from the environment; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in properties.items()]
    path.write_text("\n".join(lines) + "\n")
