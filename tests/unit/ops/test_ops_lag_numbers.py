"""Lag arithmetic: per partition, and the connector's distance in MariaDB GTIDs."""

from __future__ import annotations

import pytest

from ops.lag import GroupLag, PartitionLag, gtid_distance

pytestmark = pytest.mark.unit


def test_partition_lag_is_end_minus_committed_and_unknown_without_a_commit():
    assert PartitionLag("t", 0, committed=90, end=100).lag == 10
    assert PartitionLag("t", 0, committed=None, end=100).lag is None


def test_a_group_total_adds_the_known_lags():
    group = GroupLag(
        "g", "stable", 1, [PartitionLag("t", 0, 90, 100), PartitionLag("t", 1, None, 5)]
    )

    assert group.total == 10
    assert group.to_json()["partitions"][0]["lag"] == 10


@pytest.mark.parametrize(
    ("seen", "now", "behind"),
    [
        ("0-1-209", "0-1-210", 1),
        ("0-1-210", "0-1-210", 0),
        ("0-1-100,1-1-50", "0-1-103,1-1-52", 5),
        ("0-1-100", "0-1-101,2-1-4", 5),
        ("0-1-100", "0-2-150", 50),
    ],
)
def test_gtid_distance_counts_transactions_over_every_domain(seen, now, behind):
    assert gtid_distance(seen, now) == behind
