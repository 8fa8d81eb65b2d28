"""bankctl on a cluster: the fewest in-sync copies next to the minimum a write needs, and the
lag of each worker of a group."""

from __future__ import annotations

import pytest

from ops.commands.topics import in_sync
from ops.lag import GroupLag, PartitionLag
from ops.topics import TopicSummary

pytestmark = pytest.mark.unit


def topic(in_sync_copies: int, short: int, min_insync: int | None = 2) -> TopicSummary:
    return TopicSummary(
        "sor.bank.money", 6, 3, in_sync_copies, min_insync, short, "delete", 1, 0, 9
    )


def test_in_sync_copies_show_plainly_when_whole_and_coloured_when_short():
    assert in_sync(topic(3, 0)) == "3 (2)"
    assert in_sync(topic(2, 4)) == "[yellow]2 (2), 4 short[/]"
    assert in_sync(topic(1, 6)) == "[red]1 (2)[/]"
    assert in_sync(topic(1, 0, None)) == "1 (?)"


def test_a_groups_lag_is_summed_per_worker_reading_the_partitions():
    group = GroupLag(
        "bank-derivation",
        "stable",
        2,
        [
            PartitionLag("sor.bank.money", 0, 90, 100, "worker-6066"),
            PartitionLag("sor.bank.money", 1, 95, 100, "worker-6066"),
            PartitionLag("sor.bank.money", 2, 100, 103, "worker-6067"),
            PartitionLag("sor.bank.money", 3, None, 7),
        ],
    )
    assert group.by_worker() == {"worker-6066": 15, "worker-6067": 3, "unassigned": 0}
    assert group.to_json()["workers"] == group.by_worker()
