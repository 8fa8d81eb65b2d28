import io
import itertools
import time

import fastavro
import pytest

from events import codec
from tests.support.single_object import single_object

pytestmark = pytest.mark.unit

BALANCE = {
    "iban": "NL91ABNA0417164300",
    "account_id": 7,
    "customer_id": 3,
    "currency": "EUR",
    "balance": 1500,
    "status": "open",
    "sequence": 4,
    "updated_at": 1795459807123,
    "event_id": "sor:bank-bin.000002:3774:0",
}


# Reading through the registry (the wire format every writer now uses) is proven against the real
# registry in tests/integration/events/; these need none.


def test_an_event_written_before_the_registry_is_still_read_without_it():
    raw = single_object("account_balance", BALANCE)
    assert raw[2:10] == codec.latest("account_balance").fingerprint
    decoded = codec.Codec(url="http://127.0.0.1:9/unused").decode(raw)
    assert (decoded.type, decoded.version, decoded.value) == ("account_balance", 1, BALANCE)


@pytest.mark.parametrize("raw", [None, b"", b'{"json": true}', b"\xc3\x01" + b"\x00" * 8 + b"x"])
def test_bytes_that_are_not_our_events_are_undecodable(raw):
    with pytest.raises(codec.UndecodableEvent):
        codec.decode(raw)


def test_a_truncated_body_is_undecodable_not_a_crash():
    raw = single_object("account_balance", BALANCE)
    with pytest.raises(codec.UndecodableEvent, match="corrupt"):
        codec.decode(raw[:20])


def test_every_event_type_has_the_topic_it_is_registered_under():
    for event_type in codec.load_schemas(codec.SCHEMA_DIR):
        assert codec.subject(codec.topic_of(event_type)).startswith("bank.")


def _sample(schema: dict) -> dict:
    """A record with a plausible value for every field of a flat schema."""
    values = {"string": "x", "long": 1, "int": 1, "boolean": True, "bytes": b"x"}
    record = {}
    for field in schema["fields"]:
        kind = field["type"]
        record[field["name"]] = None if isinstance(kind, list) else values[kind]
    return record


def _reads(older: dict, newer: dict) -> bool:
    raw = io.BytesIO()
    fastavro.schemaless_writer(raw, older, _sample(older))
    raw.seek(0)
    try:
        fastavro.schemaless_reader(raw, older, newer)
    except fastavro.read.SchemaResolutionError:
        return False
    return True


@pytest.mark.parametrize("event_type", sorted(codec.load_schemas(codec.SCHEMA_DIR)))
def test_every_schema_version_reads_data_written_by_the_previous_one(event_type):
    versions = codec.schema_versions(event_type)
    assert [s.version for s in versions] == list(range(1, len(versions) + 1))
    for older, newer in itertools.pairwise(versions):
        assert _reads(older.parsed, newer.parsed), f"{event_type} v{newer.version} breaks readers"


def test_the_compatibility_check_catches_a_new_field_without_default():
    v1 = codec.latest("account_balance").parsed
    with_default = dict(
        v1, fields=[*v1["fields"], {"name": "note", "type": "string", "default": ""}]
    )
    without_default = dict(v1, fields=[*v1["fields"], {"name": "note", "type": "string"}])
    assert _reads(v1, fastavro.parse_schema(with_default))
    assert not _reads(v1, fastavro.parse_schema(without_default))


def test_an_unreachable_registry_is_told_apart_from_a_bad_record_and_not_waited_on_twice():
    reader = codec.Codec(url="http://127.0.0.1:9/apis/ccompat/v7")  # nothing listens on port 9
    record = codec.WIRE_MAGIC + (7).to_bytes(4, "big") + b"body"

    started = time.monotonic()
    with pytest.raises(codec.RegistryUnavailable):
        reader.decode(record)
    first = time.monotonic() - started
    started = time.monotonic()
    with pytest.raises(codec.RegistryUnavailable):
        reader.decode(record)
    second = time.monotonic() - started

    assert first < codec.REGISTRY_PATIENCE_SECONDS + 2
    assert second < 0.1, "the next record must not wait the patience out again"
