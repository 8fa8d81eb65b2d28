"""The replicated stages' faults and a killed gateway's failover verdict."""

import pytest

from bench.chaos import faults
from bench.chaos.failover import FAILOVER_LIMIT_SECONDS, failover_faults, judge_failover
from bench.chaos.faults import Fault
from bench.chaos.watchers import WatcherReport
from kernel.settings import settings

pytestmark = pytest.mark.unit


def stack(gateways: int = 1, workers: int = 1):
    return settings().model_copy(update={"soe_gateways": gateways, "soi_workers": workers})


def away(*outages: float) -> WatcherReport:
    return WatcherReport("steady-0", "steady", outages=list(outages))


def test_a_single_stack_has_no_replica_to_fail_over_to():
    assert failover_faults(stack()) == []


def test_the_cluster_kills_each_gateway_each_worker_and_the_balancer():
    names = [fault.name for fault in failover_faults(stack(gateways=2, workers=2))]
    assert names == ["kill-soi", "kill-soi-2", "kill-soe", "kill-soe-2", "kill-balancer"]


def test_the_drill_knows_the_second_gateway_and_the_balancer_by_name():
    assert faults.parse("kill-soe-2") == Fault("kill", "soe-2")
    assert faults.parse("kill-balancer") == Fault("kill", "balancer")
    every = {fault.name for fault in faults.every_fault(stack(gateways=2))}
    assert {"kill-soe-2", "freeze-soe-2", "kill-balancer"} <= every


def test_a_killed_gateways_clients_back_within_the_limit_pass_with_the_time_reported():
    seconds, problems, notes = judge_failover(
        stack(gateways=2), Fault("kill", "soe"), [away(1.2), away(), away(0.8)]
    )
    assert (seconds, problems) == (1.2, [])
    assert "2 connections lost" in notes[0]


def test_clients_that_waited_for_the_killed_gateway_to_come_back_fail_the_round():
    late = FAILOVER_LIMIT_SECONDS + 5
    seconds, problems, _ = judge_failover(stack(gateways=2), Fault("kill", "soe-2"), [away(late)])
    assert seconds == late
    assert problems and "soe-2" in problems[0]


def test_a_gateway_that_held_no_watcher_is_noted_not_timed():
    seconds, problems, notes = judge_failover(stack(gateways=2), Fault("kill", "soe"), [away()])
    assert (seconds, problems) == (None, [])
    assert "no watcher" in notes[0]


def test_the_only_gateway_is_not_judged_as_a_failover():
    assert judge_failover(stack(), Fault("kill", "soe"), [away(30.0)]) == (30.0, [], [])
