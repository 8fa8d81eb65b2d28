import io
import itertools

import fastavro
import pytest

from events import codec

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


def test_an_event_round_trips_with_its_schema_named_by_fingerprint():
    raw = codec.encode("account_balance", BALANCE)
    assert raw[:2] == b"\xc3\x01"
    assert raw[2:10] == codec.latest("account_balance").fingerprint
    decoded = codec.decode(raw)
    assert (decoded.type, decoded.value) == ("account_balance", BALANCE)


@pytest.mark.parametrize("raw", [None, b"", b'{"json": true}', b"\xc3\x01" + b"\x00" * 8 + b"x"])
def test_bytes_that_are_not_our_events_are_undecodable(raw):
    with pytest.raises(codec.UndecodableEvent):
        codec.decode(raw)


def test_a_truncated_body_is_undecodable_not_a_crash():
    raw = codec.encode("account_balance", BALANCE)
    with pytest.raises(codec.UndecodableEvent, match="corrupt"):
        codec.decode(raw[:20])


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


@pytest.mark.parametrize("event_type", sorted(codec._schemas()))
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
