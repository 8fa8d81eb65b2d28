"""Input the worker cannot read goes to bank.dlq with its original bytes; the worker goes on."""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Producer

from events import topics
from stack.kafka_client import librdkafka
from tests.support import bank_db
from tests.support.teller import Teller
from tests.support.topics import end_offsets, read

pytestmark = pytest.mark.integration


def test_unreadable_cdc_records_go_to_the_dead_letter_topic_and_derivation_goes_on(running_stack):
    marker = uuid.uuid4().hex
    bad_records = {
        f"not json {marker}".encode(): "not JSON",
        json.dumps(
            {
                "op": "u",
                "before": None,
                "after": None,
                "marker": marker,
                "source": {"table": "account"},
            }
        ).encode(): "without the row image",
        json.dumps(
            {
                "op": "u",
                "marker": marker,
                "before": None,
                "after": {
                    "id": 999999999,
                    "iban": "NL00TEST0000000000",
                    "currency": "EUR",
                    "balance": "12.50",
                    "status": "open",
                },
                "source": {
                    "table": "account",
                    "file": "bank-bin.000001",
                    "pos": 4,
                    "row": 0,
                    "ts_ms": 0,
                },
            }
        ).encode(): "not integer minor units",
    }
    dlq_start = end_offsets(running_stack.kafka_bootstrap, topics.DEAD_LETTERS)
    changed_start = end_offsets(running_stack.kafka_bootstrap, topics.BALANCE_CHANGED)
    producer = Producer(librdkafka(running_stack.kafka_bootstrap))
    for value in bad_records:
        producer.produce(topics.CDC_MONEY, key=b'{"account_id":999999999}', value=value)
    producer.flush(10)

    def all_dead(records) -> bool:
        return len([r for r in records if marker.encode() in (r.value["value"] or b"")]) == 3

    letters = [
        r.value
        for r in read(
            running_stack.kafka_bootstrap,
            topics.DEAD_LETTERS,
            dlq_start,
            until=all_dead,
            timeout=60,
        )
    ]
    letters = [letter for letter in letters if marker.encode() in (letter["value"] or b"")]
    for letter in letters:
        assert letter["topic"] == topics.CDC_MONEY
        assert letter["offset"] >= 0
        assert bad_records[letter["value"]] in letter["reason"]
        assert letter["key"] == b'{"account_id":999999999}'

    # The worker is still deriving: a real change after the bad records comes through.
    account = bank_db.open_accounts(running_stack, 1)[0]
    booking = Teller(running_stack).deposit(account.iban, 123, "after the dead letters")
    read(
        running_stack.kafka_bootstrap,
        topics.BALANCE_CHANGED,
        changed_start,
        timeout=60,
        until=lambda records: any(r.value["ledger_entry_id"] == booking.entry_id for r in records),
    )
