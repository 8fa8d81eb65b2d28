"""`bankctl consume` decodes whatever a topic holds, never crashing on what it cannot read."""

from __future__ import annotations

import json
import select
import signal
import subprocess

import pytest

from events import codec, topics
from tests.support.ops_stack import BANKCTL, balance_changed, jsonl, produce
from tests.support.single_object import single_object
from tests.support.wait import wait_for_line

pytestmark = pytest.mark.integration


def test_a_cdc_topic_shows_debezium_changes_with_their_binlog_position(bankctl):
    table = bankctl("consume", topics.CDC_MONEY, "--limit", "3")
    lines = bankctl("consume", topics.CDC_MONEY, "--limit", "3", "-o", "jsonl")

    assert table.exit_code == 0, table.output
    assert f"{topics.CDC_MONEY}: 3 records" in table.output
    assert "bank-bin." in table.output  # the binlog position of each change
    assert any(op in table.output for op in ("update account", "insert ledger_entry"))
    records = jsonl(lines.output)
    assert len(records) == 3
    for record in records:
        assert record["format"] == "debezium"
        assert record["value"]["op"] in ("c", "u", "d", "r")
        assert "account_id" in json.loads(record["key"])


def test_a_cdc_topic_filtered_by_account_id_shows_only_that_account(bankctl):
    first = jsonl(bankctl("consume", topics.CDC_MONEY, "--limit", "1", "-o", "jsonl").output)[0]
    account_id = json.loads(first["key"])["account_id"]

    result = bankctl("consume", topics.CDC_MONEY, "--key", str(account_id), "-o", "jsonl")

    assert result.exit_code == 0, result.output
    records = jsonl(result.output)
    assert records
    assert {json.loads(r["key"])["account_id"] for r in records} == {account_id}


def test_an_avro_topic_is_decoded_with_the_repo_schemas(bankctl):
    table = bankctl("consume", topics.BALANCES, "--limit", "2")
    lines = bankctl("consume", topics.BALANCES, "--limit", "2", "-o", "jsonl")

    assert table.exit_code == 0, table.output
    assert "account_balance v1" in table.output or "tombstone" in table.output
    for record in jsonl(lines.output):
        if record["format"] == "avro":
            assert record["type"] == "account_balance"
            assert record["value"]["iban"] == record["key"]
            assert isinstance(record["value"]["balance"], int)


def test_from_beginning_of_one_partition_starts_at_its_first_offset(bankctl, scratch_topic):
    topic = scratch_topic(partitions=2)
    produce(
        topic, [(b"A", codec.encode("balance_changed", balance_changed("A", n))) for n in (1, 2, 3)]
    )

    result = bankctl(
        "consume", topic, "--from-beginning", "--partition", "0", "--limit", "2", "-o", "jsonl"
    )

    assert result.exit_code == 0, result.output
    records = jsonl(result.output)
    assert [(r["partition"], r["offset"]) for r in records] == [(0, 0), (0, 1)]
    assert [r["value"]["sequence"] for r in records] == [1, 2]


def test_undecodable_records_are_shown_with_their_offset_and_reading_goes_on(
    bankctl, scratch_topic
):
    topic = scratch_topic()
    produce(
        topic,
        [
            (b"NL00TEST", codec.encode("balance_changed", balance_changed("NL00TEST"))),
            (b"NL00TEST", b"not avro at all"),
            (b"NL00TEST", codec.SINGLE_OBJECT_MAGIC + b"\x00" * 8 + b"body of an unknown schema"),
            (b"NL00TEST", codec.WIRE_MAGIC + (2**31 - 1).to_bytes(4, "big") + b"unregistered"),
            (b"NL00TEST", None),
        ],
    )

    table = bankctl("consume", topic, "--from-beginning")
    lines = bankctl("consume", topic, "--from-beginning", "-o", "jsonl")

    assert table.exit_code == 0, table.output
    assert "balance_changed v1" in table.output
    assert "0@1" in table.output and "0@2" in table.output
    assert table.output.count("undecodable") >= 3
    assert "unknown schema fingerprint" in table.output
    records = jsonl(lines.output)
    assert [r["format"] for r in records] == [
        "avro",
        "undecodable",
        "undecodable",
        "undecodable",
        "tombstone",
    ]
    assert records[1]["offset"] == 1
    assert "neither an Avro event" in records[1]["error"]
    assert "not in the registry" in records[3]["error"]


def test_records_carry_a_registry_schema_id_and_older_records_stay_readable(bankctl, scratch_topic):
    topic = scratch_topic()
    written_before = single_object("balance_changed", balance_changed("NL00OLD"))
    written_now = codec.encode("balance_changed", balance_changed("NL00NEW"), topic=topic)
    produce(topic, [(b"NL00OLD", written_before), (b"NL00NEW", written_now)])

    records = jsonl(bankctl("consume", topic, "--from-beginning", "-o", "jsonl").output)

    registered = codec.default().client.get_latest_version(codec.subject(topic))
    assert written_now[:5] == b"\x00" + registered.schema_id.to_bytes(4, "big")
    assert [(r["format"], r["type"], r["version"]) for r in records] == [
        ("avro", "balance_changed", 1),
        ("avro", "balance_changed", 1),
    ]
    assert [r["value"]["iban"] for r in records] == ["NL00OLD", "NL00NEW"]


def test_follow_prints_new_records_as_they_arrive(scratch_topic):
    topic = scratch_topic()
    process = subprocess.Popen(
        [str(BANKCTL), "consume", topic, "--follow", "-o", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(process.stderr, "following")
        produce(
            topic, [(b"NL00FOLLOW", codec.encode("balance_changed", balance_changed("NL00FOLLOW")))]
        )
        ready, _, _ = select.select([process.stdout], [], [], 15)
        assert ready, "no record printed within 15 s of producing it"
        record = json.loads(process.stdout.readline())
        assert record["key"] == "NL00FOLLOW"
        assert record["value"]["delta"] == 42
    finally:
        process.send_signal(signal.SIGINT)
        # communicate drains both pipes: a full stderr pipe must not be what keeps it running.
        _, errors = process.communicate(timeout=30)
        assert process.returncode == 0, errors
