"""Shared fixtures: the running stack, started by the test run itself when it is not up."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from kernel.settings import REPO_ROOT, Settings, settings
from stack import status
from stack.readiness import port_in_use


@pytest.fixture(scope="session")
def running_stack() -> Settings:
    """The whole stack, ready. Starts it (as `make up` does) when it is not running."""
    config = settings()
    current = status.read(config)
    if not (status.supervisor_alive(current) and current and current["phase"] == "ready"):
        result = subprocess.run([sys.executable, "-m", "stack", "up"], cwd=REPO_ROOT, check=False)
        if result.returncode != 0:
            pytest.fail(f"the stack did not start; see {config.path('logs')}", pytrace=False)
    from bench.bank_db import demo_entries_beyond_the_seed

    # What a person did on the demo before the run (the README's tour) is theirs, not the run's.
    _demo_before_the_run[config] = set(demo_entries_beyond_the_seed(config))
    return config


_demo_before_the_run: dict[Settings, set[str]] = {}


@pytest.fixture(scope="session")
def running_database() -> Settings:
    """MariaDB answering on BANK_DB_HOST/BANK_DB_PORT: the stack's, or, when nothing answers
    there, MariaDB alone (`stack up --database-only`, as `make test-sor` does): no Kafka."""
    config = settings()
    if not port_in_use(config.db_host, config.db_port):
        command = [sys.executable, "-m", "stack", "up", "--database-only"]
        if subprocess.run(command, cwd=REPO_ROOT, check=False).returncode != 0:
            pytest.fail(f"MariaDB did not start; see {config.path('logs')}", pytrace=False)
    return config


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run on the stack adds nothing to the demo customer's ledger: tests and benchmarks use
    customers of their own, so the demo a new user opens after `make test` looks as seeded."""
    from bench.bank_db import demo_entries_beyond_the_seed

    written = [
        entry
        for config, before in _demo_before_the_run.items()
        for entry in demo_entries_beyond_the_seed(config)
        if entry not in before
    ]
    if written:
        session.config.get_terminal_writer().line(
            "FAILED: the run wrote onto the demo customer's accounts: " + "; ".join(written[:10]),
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# Runs every `database` test in a pytest of its own with Kafka out of reach: when it is part of
# the run, those tests run there (once), not here too.
DATABASE_ONLY_PROOF = "test_database_tests_need_no_kafka.py"


@pytest.hookimpl(trylast=True)  # after `-m` has chosen: `-m database` alone keeps them here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any(item.path.name == DATABASE_ONLY_PROOF for item in items):
        return
    database = [item for item in items if item.get_closest_marker("database")]
    if database:
        items[:] = [item for item in items if not item.get_closest_marker("database")]
        config.hook.pytest_deselected(items=database)


@pytest.fixture(autouse=True)
def _stack_for_tests_that_need_it(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("e2e"):
        request.getfixturevalue("running_stack")


@pytest.fixture(autouse=True)
def _settings_read_afresh() -> Iterator[None]:
    """A test that changes the environment (monkeypatch) leaves no settings read from it."""
    settings.cache_clear()
    yield
    settings.cache_clear()
