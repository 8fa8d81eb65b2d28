"""Ctrl-C is how a person stops `make logs`: it ends quietly, not with make's "Interrupt"."""

import os
import signal
import subprocess

import pytest

from kernel.settings import REPO_ROOT
from tests.support.wait import wait_for_line

pytestmark = pytest.mark.integration


def _as_in_a_terminal() -> None:
    # A runner that started the test run in the background (as CI may) ignores SIGINT, and an
    # ignored signal stays ignored through exec; a terminal's foreground job has the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_on_make_logs_ends_quietly():
    process = subprocess.Popen(
        ["make", "--no-print-directory", "logs", "C=supervisor"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job is
        preexec_fn=_as_in_a_terminal,
    )
    wait_for_line(process.stdout, "")  # the first line of the log: tail is following it
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole group gets it
    output, _ = process.communicate(timeout=30)
    assert "Interrupt" not in output and "Traceback" not in output, output
    # make passes the interrupt on to its own caller (a shell shows nothing for that).
    assert process.returncode in (0, -signal.SIGINT), output
