"""After a component crashes, `make status` says it was restarted, when, and why."""

import os
import re
import subprocess

import pytest

from bench.chaos.stack_control import kill_hard, wait_restarted
from kernel.settings import REPO_ROOT

pytestmark = pytest.mark.integration


def test_status_says_when_and_why_a_component_was_restarted(running_stack):
    restarts = kill_hard(running_stack, "soe")
    wait_restarted(running_stack, "soe", restarts)

    status = subprocess.run(
        ["make", "--no-print-directory", "status"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert status.returncode == 0, status.stdout + status.stderr
    line = re.compile(
        rf"soe restarted {restarts + 1}x, last at "
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(killed by SIGKILL\)"
    )
    assert line.search(status.stdout), status.stdout
    assert all(len(row) <= 80 for row in status.stdout.splitlines()), status.stdout
