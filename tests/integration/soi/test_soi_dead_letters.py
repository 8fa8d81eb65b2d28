"""Input the worker cannot read goes to its dead-letter topic with its original bytes; the worker
goes on. A worker of the test's own reads and writes scratch topics, so the junk never reaches
the bank's `sor.bank.money` or `bank.dlq`."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from kernel.kafka_client import producer_config
from ops.topic_reader import read
from tests.support.scratch_worker import scratch_worker

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cdc"

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
    bootstrap = running_stack.kafka_bootstrap
    with scratch_worker(bootstrap) as worker:
        producer = Producer(producer_config(bootstrap))
        for value in bad_records:
            producer.produce(worker.cdc_money, key=b'{"account_id":999999999}', value=value)
        # A real change after the bad records: the worker is still deriving.
        deposit = (FIXTURES / "account_update_deposit.json").read_bytes()
        producer.produce(worker.cdc_money, key=b'{"account_id":2}', value=deposit)
        producer.flush(10)
        _dead_letters_name_their_reason(bootstrap, worker, bad_records, marker)
        changed = read(
            bootstrap,
            worker.topics.balance_changed,
            timeout=60,
            until=lambda records: any(r.value["account_id"] == 2 for r in records),
        )
        assert [r.value["delta"] for r in changed] == [237244 - 236010]


def _dead_letters_name_their_reason(bootstrap, worker, bad_records, marker) -> None:
    def all_dead(records) -> bool:
        return len([r for r in records if marker.encode() in (r.value["value"] or b"")]) == 3

    letters = [
        r.value for r in read(bootstrap, worker.topics.dead_letters, until=all_dead, timeout=60)
    ]
    letters = [letter for letter in letters if marker.encode() in (letter["value"] or b"")]
    for letter in letters:
        assert letter["topic"] == worker.cdc_money
        assert letter["offset"] >= 0
        assert bad_records[letter["value"]] in letter["reason"]
        assert letter["key"] == b'{"account_id":999999999}'
