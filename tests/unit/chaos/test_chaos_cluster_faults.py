"""The cluster's faults are chosen by name like the others, and only a cluster runs them."""

from __future__ import annotations

import pytest

from bench.chaos import faults
from bench.chaos.cluster_faults import ClusterFault
from bench.chaos.failover import replica_faults
from tests.unit.stack.test_topology import configured

pytestmark = pytest.mark.unit


def test_the_cluster_faults_parse_by_name_and_replicas_of_a_stage_by_component():
    assert faults.parse("kill-broker") == ClusterFault("kill-broker")
    assert faults.parse("kill-connect-task").component == "the Connect worker running the task"
    assert faults.parse("freeze-kafka-3") == faults.Fault("freeze", "kafka-3")
    with pytest.raises(ValueError, match="restart-brokers"):
        faults.parse("restart-everything")


def test_a_cluster_drills_its_four_faults_and_a_single_stack_does_not():
    single = {f.name for f in faults.every_fault(configured())}
    cluster = {f.name for f in faults.every_fault(configured(BANK_TOPOLOGY="cluster"))}
    four = {"kill-broker", "restart-brokers", "freeze-broker", "kill-connect-task"}
    assert not single & four
    assert four <= cluster
    assert {"kill-soi-2", "freeze-soi-2"} <= cluster


def test_the_cluster_stage_drills_a_kill_and_a_freeze_of_each_replica_and_the_balancer():
    cluster = [f.name for f in replica_faults(configured(BANK_TOPOLOGY="cluster"))]
    assert cluster == ["kill-soi-2", "freeze-soi-2", "kill-soe-2", "freeze-soe-2", "kill-balancer"]
    assert replica_faults(configured()) == []
