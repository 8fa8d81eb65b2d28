"""The fault drills crash and freeze the shared stack's components: they run after every other
test of the session, so nothing else sees a component restarting. Each test runs one short
round of `python -m bench.chaos`'s harness."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.chaos.drill import Plan, RoundResult, run_round
from bench.chaos.faults import Fault
from bench.chaos.report import summary
from kernel.settings import Settings

HERE = Path(__file__).parent
# Shorter than `make chaos`: the whole drill must stay within minutes on two cores, also when a
# component does not come back and the round waits out its timeouts.
CI_PLAN = Plan(warm_up=3.0, away=4.0, tail=3.0, recover_timeout=90.0, settle_timeout=60.0)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    drills = [item for item in items if HERE in item.path.parents]
    items[:] = [item for item in items if HERE not in item.path.parents] + drills


@pytest.fixture(scope="session")
def drill(running_stack: Settings) -> Callable[[Fault], RoundResult]:
    run_id = f"ci{secrets.token_hex(2)}"

    def one_round(fault: Fault) -> RoundResult:
        result = run_round(running_stack, fault, CI_PLAN, 1, run_id)
        print(summary(result))
        return result

    return one_round
