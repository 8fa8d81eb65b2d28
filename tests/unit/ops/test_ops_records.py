"""Any record's value is read as what it is: Avro, Debezium, JSON, a tombstone, or undecodable."""

from __future__ import annotations

import json

import pytest

from events import codec
from ops.records import decode_value, key_matches, key_text
from tests.support.single_object import single_object

pytestmark = pytest.mark.unit

ALERT = {
    "alert_id": "sor:f:1:0:low_balance",
    "kind": "low_balance",
    "customer_id": 7,
    "iban": "NL00TEST",
    "currency": "EUR",
    "balance": 5,
    "amount": None,
    "threshold": 10,
    "message": "low",
    "raised_at": 1,
}


def test_an_avro_event_written_before_the_registry_is_decoded_with_its_type_and_version():
    decoded = decode_value(single_object("alert", ALERT))

    assert decoded == {"format": "avro", "type": "alert", "version": 1, "value": ALERT}


def test_a_debezium_envelope_is_recognised_with_its_table():
    envelope = {"op": "u", "before": {"id": 1}, "after": {"id": 1}, "source": {"table": "account"}}

    decoded = decode_value(json.dumps(envelope).encode())

    assert decoded["format"] == "debezium"
    assert decoded["type"] == "account"
    assert decoded["value"] == envelope


def test_other_json_is_shown_as_json_and_null_as_a_tombstone():
    assert decode_value(b'{"hello": 1}') == {"format": "json", "value": {"hello": 1}}
    assert decode_value(None) == {"format": "tombstone"}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not avro at all", "neither an Avro event"),
        (b"\xff\xfe\x00", "neither an Avro event"),
        (codec.SINGLE_OBJECT_MAGIC + b"\x00" * 8 + b"body", "unknown schema fingerprint"),
        (single_object("alert", ALERT)[:-3], "corrupt alert v1 body"),
    ],
)
def test_what_cannot_be_read_is_undecodable_with_the_reason_and_a_preview(raw, reason):
    decoded = decode_value(raw)

    assert decoded["format"] == "undecodable"
    assert reason in decoded["error"]
    assert decoded["value"]["bytes"] == len(raw)
    assert decoded["value"]["hex"].startswith(raw[:4].hex())


def test_keys_are_text_or_hex():
    assert key_text(b"NL00TEST") == "NL00TEST"
    assert key_text(b"\xff\x00") == "0xff00"
    assert key_text(None) is None


@pytest.mark.parametrize(
    ("key", "wanted", "matches"),
    [
        ("NL16LIVE0428529006", "NL16 LIVE 0428 5290 06", True),
        ("NL16LIVE0428529006", "nl16live0428529006", True),
        ('{"account_id":7}', "7", True),
        ('{"account_id":17}', "7", False),
        ("NL16LIVE0428529006", "7", False),
        (None, "7", False),
    ],
)
def test_a_key_matches_an_iban_or_an_id_inside_a_json_key(key, wanted, matches):
    assert key_matches(key, wanted) is matches
