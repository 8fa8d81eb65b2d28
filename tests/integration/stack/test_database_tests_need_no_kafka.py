"""The system of record's tests (marker `database`) pass with Kafka, Connect and the registry
out of reach: what `make test-sor` promises, on a machine that runs MariaDB alone. In a run that
includes this test, the `database` tests run here only (tests/conftest.py), and a failure among
them shows in this test's message."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from bench.children import free_port
from kernel.settings import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]


def test_the_database_tests_pass_with_kafka_out_of_reach(running_stack):
    nothing = free_port()  # nothing listens there: every Kafka-side address points at it
    env = {
        **os.environ,
        "BANK_KAFKA_BOOTSTRAP": f"127.0.0.1:{nothing}",
        "BANK_KAFKA_PORT": str(nothing),
        "BANK_CONNECT_PORT": str(nothing),
        "BANK_REGISTRY_PORT": str(nothing),
        "BANK_SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{nothing}",
        "BANK_SOE_PORT": str(nothing),
        "BANK_SOI_WEB_PORT": str(nothing),
        # A test database of its own (test_bank_without_kafka): this run's sor tests use test_bank.
        "BANK_DB_NAME": "bank_without_kafka",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "database", "-q", "-p", "no:cacheprovider"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 100, summary
    assert not re.search(r"\d+ (skipped|xfailed|error)", summary), summary
