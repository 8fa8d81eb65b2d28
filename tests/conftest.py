"""Shared fixtures: the running stack, started by the test run itself when it is not up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stack import status
from stack.settings import REPO_ROOT, Settings, settings


@pytest.fixture(scope="session")
def running_stack() -> Settings:
    """The whole stack, ready. Starts it (as `make up` does) when it is not running."""
    config = settings()
    current = status.read(config)
    if not (status.supervisor_alive(current) and current and current["phase"] == "ready"):
        result = subprocess.run([sys.executable, "-m", "stack", "up"], cwd=REPO_ROOT, check=False)
        if result.returncode != 0:
            pytest.fail(f"the stack did not start; see {config.path('logs')}", pytrace=False)
    return config


@pytest.fixture(autouse=True)
def _stack_for_tests_that_need_it(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("e2e"):
        request.getfixturevalue("running_stack")
