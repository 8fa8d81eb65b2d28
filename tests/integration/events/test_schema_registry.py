"""The schema registry guards the events' schemas: it refuses a change that old records could not
be read with, it gives a compatible new version an id of its own that old and new readers both
resolve, and a restarted registry gives every schema the id it had. Real registry, real Kafka."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import Schema as RegisteredSchema
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from bench.chaos.stack_control import kill_hard, wait_restarted
from events import codec
from events.topics import DerivedTopics
from kernel.kafka_client import producer_config
from kernel.settings import settings
from tests.support.scratch_topics import scratch_topics

pytestmark = pytest.mark.integration

CHANGE = {
    "event_id": "test:registry:1",
    "iban": "NL00REGISTRY",
    "account_id": 1,
    "customer_id": None,
    "currency": "EUR",
    "old_balance": 100,
    "new_balance": 142,
    "delta": 42,
    "sequence": 1,
    "committed_at": 1,
    "captured_at": 2,
    "derived_at": 3,
    "source_file": "test-bin.000001",
    "source_pos": 4,
    "source_row": 0,
    "gtid": None,
    "kind": "deposit",
    "reason": "registry test",
    "clerk": None,
    "ledger_entry_id": None,
    "ledger_match": "none",
}
# balance_changed v2 as a later release would publish it: one more field, with a default.
NEW_FIELD = {"name": "channel", "type": ["null", "string"], "default": None}


@pytest.fixture
def scratch() -> Iterator[DerivedTopics]:
    with scratch_topics(settings().kafka_bootstrap, "registry-test") as topics:
        yield topics


def _balance_changed_v1() -> dict:
    return json.loads((codec.SCHEMA_DIR / "balance_changed.v1.avsc").read_text())


@pytest.fixture
def schemas_with_v2(tmp_path: Path) -> Path:
    """The repo's schemas plus a compatible v2 of balance_changed."""
    for path in codec.SCHEMA_DIR.glob("*.avsc"):
        shutil.copy(path, tmp_path)
    v2 = _balance_changed_v1()
    v2["fields"].append(NEW_FIELD)
    (tmp_path / "balance_changed.v2.avsc").write_text(json.dumps(v2))
    return tmp_path


def _produce_and_read_back(topic: str, values: list[bytes]) -> list[bytes]:
    producer = Producer(producer_config(settings().kafka_bootstrap))
    for value in values:
        producer.produce(topic, key=b"NL00REGISTRY", value=value, partition=0)
    assert producer.flush(10) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": settings().kafka_bootstrap,
            "group.id": "registry-tests",  # assign() only: never joins, never commits
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    try:
        read = []
        while len(read) < len(values):
            message = consumer.poll(10)
            assert message is not None, f"only {len(read)} of {len(values)} records came back"
            assert message.error() is None, message.error()
            read.append(message.value())
        return read
    finally:
        consumer.close()


def test_every_subject_the_worker_registered_has_backward_compatibility():
    client = codec.default().client
    for topic in DerivedTopics("bank").names():
        assert client.get_compatibility(codec.subject(topic)) == "BACKWARD", topic


def test_a_backward_incompatible_schema_change_is_refused_by_the_registry(scratch):
    topic = scratch.balance_changed
    codec.default().register(topic, codec.latest("balance_changed"))
    # A new field without a default: a reader of the new version cannot read the old records.
    breaking = _balance_changed_v1()
    breaking["fields"].append({"name": "channel", "type": "string"})

    with pytest.raises(SchemaRegistryError) as refused:
        codec.default().client.register_schema(
            codec.subject(topic), RegisteredSchema(json.dumps(breaking), "AVRO")
        )

    assert refused.value.http_status_code == 409, refused.value
    versions = codec.default().client.get_versions(codec.subject(topic))
    assert len(versions) == 1


def test_a_compatible_v2_is_registered_and_old_and_new_readers_read_both_versions(
    scratch, schemas_with_v2
):
    topic = scratch.balance_changed
    old_writer, new_writer = codec.Codec(), codec.Codec(schemas_with_v2)
    raw = _produce_and_read_back(
        topic,
        [
            old_writer.encode("balance_changed", CHANGE, topic=topic),
            new_writer.encode("balance_changed", {**CHANGE, "channel": "teller"}, topic=topic),
        ],
    )
    ids = [int.from_bytes(value[1:5], "big") for value in raw]
    assert ids[0] != ids[1], "v2 must be a schema of its own in the registry"
    assert len(codec.default().client.get_versions(codec.subject(topic))) == 2

    # Fresh readers: they know no id, so each writer schema comes from the registry.
    old_reader, new_reader = codec.Codec(), codec.Codec(schemas_with_v2)
    by_old = [old_reader.decode(value) for value in raw]
    by_new = [new_reader.decode(value) for value in raw]

    assert [d.value for d in by_old] == [CHANGE, CHANGE]  # v2's field is not in v1: dropped
    assert [d.version for d in by_old] == [1, None]  # None: newer than this reader knows
    assert [d.value for d in by_new] == [
        {**CHANGE, "channel": None},
        {**CHANGE, "channel": "teller"},
    ]
    assert [d.version for d in by_new] == [1, 2]
    # Any Confluent-compatible reader reads them too: confluent-kafka's own deserializer.
    plain = AvroDeserializer(SchemaRegistryClient({"url": codec.registry_url()}))
    context = SerializationContext(topic, MessageField.VALUE)
    assert [plain(value, context)["iban"] for value in raw] == ["NL00REGISTRY"] * 2


def test_restarting_the_registry_keeps_every_schema_id(scratch):
    config = settings()
    topic = scratch.alerts
    schema_id = codec.default().register(topic, codec.latest("alert"))
    bank_ids = {
        t: codec.default().client.get_latest_version(codec.subject(t)).schema_id
        for t in DerivedTopics("bank").names()
    }

    wait_restarted(config, "registry", kill_hard(config, "registry"))

    client = SchemaRegistryClient({"url": codec.registry_url()})  # no cache from before
    assert client.get_latest_version(codec.subject(topic)).schema_id == schema_id
    assert json.loads(client.get_schema(schema_id).schema_str) == json.loads(
        codec.latest("alert").text
    )
    for t, known in bank_ids.items():
        assert client.get_latest_version(codec.subject(t)).schema_id == known, t
