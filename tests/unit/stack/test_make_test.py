"""`make test` (what CI runs) is the default suite and then the cluster stage, the stage run also
when the suite failed, and the run failing when either did. Checked by running the Makefile's
recipe with a stand-in for the venv's Python that notes what it was asked to run."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from kernel.settings import REPO_ROOT

pytestmark = pytest.mark.unit


@pytest.fixture
def stand_in(tmp_path: Path) -> Path:
    python = tmp_path / "python"
    python.write_text(
        textwrap.dedent(
            """\
            #!/bin/sh
            echo "$*" >> "$RAN"
            case "$*" in
              "-m pytest") exit "$SUITE_EXIT" ;;
              "-m tests.cluster.stage") exit "$STAGE_EXIT" ;;
            esac
            exit 0
            """
        )
    )
    python.chmod(0o755)
    return python


def make_test(stand_in: Path, suite: int, stage: int) -> tuple[int, list[str]]:
    ran = stand_in.parent / "ran"
    ran.unlink(missing_ok=True)
    environment = {**os.environ, "RAN": str(ran), "SUITE_EXIT": str(suite)}
    environment["STAGE_EXIT"] = str(stage)
    done = subprocess.run(
        # -o: the venv counts as installed; PY: every $(PY) command goes to the stand-in.
        ["make", "-s", "-o", ".venv/.installed", "test", f"PY={stand_in}"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, ran.read_text().splitlines()


def test_make_test_runs_the_suite_then_the_cluster_stage(stand_in):
    code, ran = make_test(stand_in, suite=0, stage=0)
    assert code == 0
    assert ran[-2:] == ["-m pytest", "-m tests.cluster.stage"]


@pytest.mark.parametrize(("suite", "stage"), [(1, 0), (0, 1), (2, 1)])
def test_make_test_fails_when_either_part_failed_and_runs_the_stage_anyway(stand_in, suite, stage):
    code, ran = make_test(stand_in, suite, stage)
    assert code != 0
    assert ran[-2:] == ["-m pytest", "-m tests.cluster.stage"]
