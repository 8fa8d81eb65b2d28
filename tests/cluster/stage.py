"""`python -m tests.cluster.stage` (the second half of `make test`): the cluster's tests
(`pytest -m cluster`) against a cluster-topology stack.

When the running stack is a cluster (`BANK_TOPOLOGY=cluster make test`) they run against it.
Otherwise a cluster stack of their own is started beside the default one, with its own state
folder (`<state>/cluster-stage`, sharing the jars) and its own ports (each of the default stack's
plus 500: an env file's block of ports stays its own), and stopped at the end whatever happened.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kernel.settings import REPO_ROOT, Settings, settings

PORT_SHIFT = 500
# Every port the settings take; the stage's stack listens on each plus PORT_SHIFT.
PORT_VARIABLES = {
    "BANK_DB_PORT": "db_port",
    "BANK_KAFKA_PORT": "kafka_port",
    "BANK_KAFKA_CONTROLLER_PORT": "kafka_controller_port",
    "BANK_CONNECT_PORT": "connect_port",
    "BANK_SOR_PORT": "sor_port",
    "BANK_SOE_PORT": "soe_port",
    "BANK_SOI_WEB_PORT": "soi_web_port",
    "BANK_REGISTRY_PORT": "registry_port",
    "BANK_REGISTRY_HEALTH_PORT": "registry_health_port",
}
# Set for the default stack, wrong for the stage's: its own are derived from its ports.
NOT_PASSED_ON = ("BANK_KAFKA_BOOTSTRAP", "BANK_DASHBOARD_ORIGINS", "BANK_SCHEMA_REGISTRY_URL")


def stage_environment(config: Settings) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in NOT_PASSED_ON}
    environment |= {
        variable: str(getattr(config, field) + PORT_SHIFT)
        for variable, field in PORT_VARIABLES.items()
    }
    environment["BANK_TOPOLOGY"] = "cluster"
    environment["BANK_STATE_DIR"] = str(stage_state_dir(config))
    return environment


def stage_state_dir(config: Settings) -> Path:
    return config.path("cluster-stage")


def _share_jars(config: Settings) -> None:
    """The stage's stack runs the default stack's jars (resolved by `make up` before)."""
    folder = stage_state_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "lib").exists():
        (folder / "lib").symlink_to(config.path("lib"), target_is_directory=True)


def _run(command: list[str], environment: dict[str, str] | None = None) -> int:
    return subprocess.run(command, cwd=REPO_ROOT, env=environment, check=False).returncode


def main(arguments: list[str]) -> int:
    config = settings()
    pytest = [sys.executable, "-m", "pytest", "-m", "cluster", *arguments]
    if config.topology == "cluster":
        return _run(pytest)
    environment = stage_environment(config)
    _share_jars(config)
    print(f"==> the cluster stage: a cluster stack of its own in {stage_state_dir(config)}")
    took: dict[str, float] = {}
    try:
        with _timed(took, "stack up"):
            started = _run([sys.executable, "-m", "stack", "up"], environment)
        if started != 0:
            print("the cluster stage's stack did not start", file=sys.stderr)
            return 1
        with _timed(took, "tests"):
            return _run(pytest, environment)
    finally:
        with _timed(took, "stack down"):
            _run([sys.executable, "-m", "stack", "down"], environment)
        parts = ", ".join(f"{part} {seconds:.0f} s" for part, seconds in took.items())
        print(f"==> the cluster stage took {sum(took.values()):.0f} s ({parts})")


@contextmanager
def _timed(took: dict[str, float], part: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        took[part] = time.monotonic() - started


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
