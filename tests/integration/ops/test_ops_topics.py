"""`bankctl topics` lists what the broker holds, as a table and as JSON."""

from __future__ import annotations

import json

import pytest

from events import topics

pytestmark = pytest.mark.integration

BANK_TOPICS = (topics.CDC_MONEY, topics.BALANCE_CHANGED, topics.BALANCES, topics.ALERTS)


def test_topics_table_shows_the_bank_topics_with_compaction_and_counts(bankctl):
    result = bankctl("topics")

    assert result.exit_code == 0, result.output
    for name in BANK_TOPICS:
        assert name in result.output
    balances_row = next(line for line in result.output.splitlines() if topics.BALANCES in line)
    assert "compact" in balances_row
    assert "≤" in balances_row  # a compacted topic's count is an upper bound
    assert "__consumer_offsets" not in result.output


def test_topics_json_gives_partitions_policy_and_message_counts(bankctl):
    result = bankctl("topics", "--json")

    assert result.exit_code == 0, result.output
    by_name = {t["name"]: t for t in json.loads(result.output)}
    assert set(BANK_TOPICS) <= set(by_name)
    changed = by_name[topics.BALANCE_CHANGED]
    assert changed["partitions"] >= 1
    assert changed["replication"] >= 1
    assert changed["cleanup_policy"] == "delete"
    assert changed["retention_ms"] > 0
    assert changed["messages"] == changed["end_offsets"] - changed["start_offsets"] > 0
    assert by_name[topics.BALANCES]["cleanup_policy"] == "compact"


def test_internal_topics_are_listed_only_when_asked(bankctl):
    result = bankctl("topics", "--json", "--internal")

    assert result.exit_code == 0, result.output
    assert "__consumer_offsets" in {t["name"] for t in json.loads(result.output)}
