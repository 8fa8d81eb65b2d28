"""`bankctl lag` shows every reader: the worker's consumer group, the gateway, the connector."""

from __future__ import annotations

import json

import pytest

from events import topics

pytestmark = pytest.mark.integration


def test_lag_lists_the_worker_group_per_partition_with_a_total(bankctl):
    result = bankctl("lag")

    assert result.exit_code == 0, result.output
    assert "consumer group bank-derivation" in result.output
    assert topics.CDC_MONEY in result.output
    assert "total" in result.output
    assert "gateway http://" in result.output
    assert "connector bank-sor" in result.output


def test_lag_as_json_gives_committed_end_and_lag_per_partition(bankctl):
    result = bankctl("lag", "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    worker = next(g for g in data["groups"] if g["group"] == "bank-derivation")
    money = [p for p in worker["partitions"] if p["topic"] == topics.CDC_MONEY]
    assert money
    for partition in money:
        assert partition["end"] >= 0
        if partition["committed"] is not None:
            assert partition["lag"] == max(0, partition["end"] - partition["committed"])
    assert worker["total"] == sum(p["lag"] or 0 for p in worker["partitions"])
    assert set(data["gateway"]["by_topic"]) >= {topics.BALANCES, topics.BALANCE_CHANGED}
    (sor,) = [s for s in data["connectors"]["sources"] if s["connector"] == "bank-sor"]
    assert sor["position"]["gtids"]
    assert sor["behind"] >= 0
