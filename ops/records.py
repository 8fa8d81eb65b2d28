"""Reading any record of the bank's topics: Debezium JSON envelopes, the repo's Avro events (the
registry's wire format, and single-object encoding from before the registry), other JSON,
tombstones, and whatever else as undecodable, with the reason, never a crash."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Message

from events import codec

DEBEZIUM, AVRO, JSON, TOMBSTONE, UNDECODABLE = (
    "debezium",
    "avro",
    "json",
    "tombstone",
    "undecodable",
)
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_PREVIEW_BYTES = 32


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp: int | None
    key: str | None
    format: str
    value: Any = None
    type: str | None = None
    version: int | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.timestamp,
            "key": self.key,
            "format": self.format,
        }
        if self.type is not None:
            data.update(type=self.type, version=self.version)
        if self.error is not None:
            data["error"] = self.error
        data["value"] = self.value
        return data


def from_message(message: Message) -> Record:
    kind, ts = message.timestamp()
    base = {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp": None if kind == TIMESTAMP_NOT_AVAILABLE else ts,
        "key": key_text(message.key()),
    }
    return Record(**base, **decode_value(message.value()))


def key_text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return "0x" + raw.hex()


def decode_value(raw: bytes | None) -> dict[str, Any]:
    """The fields of a Record that describe its value."""
    if raw is None:
        return {"format": TOMBSTONE}
    if raw[:1] == codec.WIRE_MAGIC or raw[:2] == codec.SINGLE_OBJECT_MAGIC:
        try:
            event = codec.decode(raw)
        except (codec.UndecodableEvent, codec.RegistryUnavailable) as error:
            return _undecodable(raw, str(error))
        return {"format": AVRO, "type": event.type, "version": event.version, "value": event.value}
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _undecodable(
            raw, "neither an Avro event of this repo (no 00 or C3 01 header) nor JSON"
        )
    if isinstance(value, dict) and value.get("op") in ("c", "u", "d", "r") and "source" in value:
        return {"format": DEBEZIUM, "type": value.get("source", {}).get("table"), "value": value}
    return {"format": JSON, "value": value}


def _undecodable(raw: bytes, reason: str) -> dict[str, Any]:
    preview = raw[:_PREVIEW_BYTES].hex() + ("…" if len(raw) > _PREVIEW_BYTES else "")
    return {"format": UNDECODABLE, "error": reason, "value": {"bytes": len(raw), "hex": preview}}


def looks_like_iban(text: str) -> bool:
    """Two letters, two check digits, then letters and digits: an IBAN as a person types it."""
    return _IBAN_SHAPE.fullmatch(text.replace(" ", "").upper()) is not None


def key_matches(record_key: str | None, wanted: str) -> bool:
    """A key as typed by a person: an IBAN (spaces ignored), or an id that a JSON key such as
    Debezium's {"id": 7} holds."""
    if record_key is None:
        return False
    if record_key.replace(" ", "").upper() == wanted.replace(" ", "").upper():
        return True
    try:
        parsed = json.loads(record_key)
    except json.JSONDecodeError:
        return False
    values = parsed.values() if isinstance(parsed, dict) else [parsed]
    return any(str(v) == wanted for v in values)
