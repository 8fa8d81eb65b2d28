"""kill -9 of a replica while clerks book and customers watch, when the stack runs replicated
stages (BANK_SOE_GATEWAYS, BANK_SOI_WORKERS of 2 or more; the cluster topology sets both): the
further gateways and workers and the balancer, beside test_chaos_kills.py's kill of each first
one. Same checks, and a killed gateway's customers are served by the other within seconds.
With one gateway and one worker there is no replica: pytest reports the empty parameter set."""

from __future__ import annotations

import pytest

from bench.chaos.failover import FAILOVER_LIMIT_SECONDS, failover_faults, is_gateway_failover
from bench.chaos.faults import COMPONENTS
from bench.chaos.report import summary
from kernel.settings import settings

pytestmark = pytest.mark.integration

REPLICAS = [fault for fault in failover_faults(settings()) if fault.component not in COMPONENTS]


@pytest.mark.parametrize("fault", REPLICAS, ids=lambda fault: fault.name)
def test_a_replica_killed_under_load_loses_duplicates_and_misshows_nothing(drill, fault):
    result = drill(fault)
    assert result.ok, summary(result)
    if is_gateway_failover(settings(), fault):
        assert result.failover_s is not None, summary(result)
        assert result.failover_s <= FAILOVER_LIMIT_SECONDS, summary(result)
