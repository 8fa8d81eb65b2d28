"""The cluster stage's tests (`pytest -m cluster`, run by `make test` through
tests/cluster/stage.py): against a stack with BANK_TOPOLOGY=cluster. The drills crash brokers and
Connect workers, so they run after the stage's other tests."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from dataclasses import replace

import pytest
from rich.console import Console

from bench.chaos.cluster_faults import ClusterFault
from bench.chaos.drill import RoundResult, run_round
from bench.chaos.faults import Fault
from bench.chaos.report import summary, table, write
from kernel.settings import Settings
from tests.integration.chaos.conftest import CI_PLAN

# A restarted broker replays its log and rejoins before it counts as back: on two busy cores
# that takes longer than a single stack's restarts.
CLUSTER_PLAN = replace(CI_PLAN, recover_timeout=240.0, settle_timeout=120.0)


# Every drill round of the session, for the figures at the end of the run.
ROUNDS: list[RoundResult] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    drills = [item for item in items if item.path.name == "test_cluster_drills.py"]
    items[:] = [item for item in items if item not in drills] + drills


@pytest.fixture(scope="session")
def cluster_stack(running_stack: Settings) -> Settings:
    if running_stack.topology != "cluster":
        pytest.fail(
            "the cluster tests need a cluster stack: `make test` starts one for them "
            "(tests/cluster/stage.py), or run them with BANK_TOPOLOGY=cluster",
            pytrace=False,
        )
    return running_stack


@pytest.fixture(scope="session")
def cluster_drill(cluster_stack: Settings) -> Callable[[ClusterFault | Fault], RoundResult]:
    run_id = f"cl{secrets.token_hex(2)}"

    def one_round(fault: ClusterFault | Fault) -> RoundResult:
        result = run_round(cluster_stack, fault, CLUSTER_PLAN, 1, run_id)
        print(summary(result))
        ROUNDS.append(result)
        return result

    return one_round


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The drills' figures (recovery time per fault), in the run's output and in
    bench/results/<time>-chaos.json, passed or not."""
    if not ROUNDS:
        return
    path = write(ROUNDS, CLUSTER_PLAN, "python -m tests.cluster.stage")
    text = io.StringIO()
    Console(file=text, width=160, force_terminal=False).print(table(ROUNDS))
    terminalreporter.write_sep("=", "the cluster drills' figures")
    terminalreporter.write(text.getvalue())
    for result in ROUNDS:
        for line in result.notes:
            terminalreporter.write_line(f"{result.fault}: {line}")
    terminalreporter.write_line(f"every figure of every round: {path}")
