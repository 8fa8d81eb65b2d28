"""Helpers of bankctl's integration tests: producing to and reading scratch topics, picking
accounts. Bookings go through bench.teller."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import MySQLdb
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from kernel.kafka_client import librdkafka, producer_config
from kernel.settings import database_login

# The installed command, beside the interpreter running the tests.
BANKCTL = Path(sys.executable).parent / "bankctl"


def produce(
    topic: str, records: list[tuple[bytes | None, bytes | None]], partition: int = 0
) -> None:
    producer = Producer(producer_config(extra={"linger.ms": 0}))
    for key, value in records:
        producer.produce(topic, key=key, value=value, partition=partition)
    assert producer.flush(10) == 0, f"records for {topic} not delivered"


def read_all(topic: str) -> list[tuple[int, bytes | None, bytes | None]]:
    """(partition, key, value) of every record now in a topic, in order within a partition."""
    consumer = Consumer(
        librdkafka(
            extra={
                "group.id": "bankctl-tests",  # assign() only: never joins, never commits
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            }
        )
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        out, done = [], set()
        while len(done) < len(ends):
            message = consumer.poll(10)
            assert message is not None, f"reading {topic} stalled"
            error = message.error()
            if error is not None:
                assert error.code() == KafkaError._PARTITION_EOF, error.str()
                done.add(message.partition())
                continue
            out.append((message.partition(), message.key(), message.value()))
            if message.offset() >= ends[message.partition()] - 1:
                done.add(message.partition())
        return out
    finally:
        consumer.close()


@dataclass(frozen=True)
class Account:
    id: int
    iban: str
    balance: int


def _db() -> MySQLdb.Connection:
    return MySQLdb.connect(**database_login(), autocommit=True)


def quiet_accounts(count: int) -> list[Account]:
    """Open EUR accounts of customers without a dashboard login, least recently changed."""
    connection = _db()
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT a.id, a.iban, a.balance FROM account a JOIN customer c ON c.id = a.customer_id "
            "WHERE a.status = 'open' AND a.currency = 'EUR' AND c.user_id IS NULL "
            "ORDER BY a.updated_at LIMIT %s",
            (count,),
        )
        rows = cursor.fetchall()
    finally:
        connection.close()
    assert len(rows) == count, "the seed data has too few open EUR accounts"
    return [Account(*row) for row in rows]


@dataclass(frozen=True)
class BrokenConnector:
    name: str
    topic_prefix: str


class NotFailedYet(AssertionError):
    pass


def jsonl(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def balance_changed(iban: str, sequence: int = 1) -> dict:
    return {
        "event_id": f"test:{iban}:{sequence}",
        "iban": iban,
        "account_id": 1,
        "customer_id": None,
        "currency": "EUR",
        "old_balance": 100,
        "new_balance": 142,
        "delta": 42,
        "sequence": sequence,
        "committed_at": 1,
        "captured_at": 2,
        "derived_at": 3,
        "source_file": "test-bin.000001",
        "source_pos": 4,
        "source_row": 0,
    }
