"""`make status` and `make logs` say what a person needs: why and when something restarted, and
which logs exist when a name is mistyped."""

import signal
import subprocess
import sys

import pytest

from kernel.settings import REPO_ROOT
from stack.cli import restart_lines
from stack.supervisor import exit_reason

pytestmark = pytest.mark.unit


def test_a_return_code_reads_as_the_signal_or_the_exit_code():
    assert exit_reason(-signal.SIGKILL) == "killed by SIGKILL"
    assert exit_reason(1) == "exit code 1"
    assert exit_reason(None) == "ended, code unknown"


def test_a_restarted_component_says_how_often_when_and_why():
    components = [
        {"name": "kafka", "restarts": 0},
        {"name": "soi", "restarts": 2, "last_exit": "killed by SIGKILL", "last_exit_at": 0.0},
    ]
    assert restart_lines(components) == [
        "soi restarted 2x, last at 1970-01-01 00:00:00 UTC (killed by SIGKILL)"
    ]


def test_a_mistyped_log_name_fails_at_once_with_the_names_there_are(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "kafka.log").write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "stack", "logs", "kafak"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "BANK_STATE_DIR": str(tmp_path), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "there is no log named 'kafak'; the logs are: kafka" in result.stdout
