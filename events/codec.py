"""Avro single-object encoding of the bank's events, with fastavro.

Each value is ``C3 01`` + the 8-byte CRC-64-AVRO fingerprint of the writer schema + the Avro
binary body, as the Avro specification defines. Every schema version ever published lives in
``schemas/`` as ``<type>.v<N>.avsc``; a reader finds the writer schema by its fingerprint and
resolves it to the newest version of the same type, so old records stay readable.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

SCHEMA_DIR = Path(__file__).parent / "schemas"
MAGIC = b"\xc3\x01"
HEADER_LEN = len(MAGIC) + 8
_FILE_NAME = re.compile(r"^(?P<type>[a-z_]+)\.v(?P<version>\d+)\.avsc$")


class UndecodableEvent(ValueError):
    """The bytes are not a single-object-encoded event of a schema this repo knows."""


@dataclass(frozen=True)
class Schema:
    type: str
    version: int
    parsed: Any
    fingerprint: bytes


@dataclass(frozen=True)
class Decoded:
    type: str
    version: int
    value: dict[str, Any]


@cache
def _schemas() -> dict[str, list[Schema]]:
    by_type: dict[str, list[Schema]] = {}
    for path in sorted(SCHEMA_DIR.glob("*.avsc")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise RuntimeError(f"schema file {path.name} is not named <type>.v<N>.avsc")
        parsed = parse_schema(json.loads(path.read_text()))
        digest = bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))
        schema = Schema(match["type"], int(match["version"]), parsed, digest)
        by_type.setdefault(schema.type, []).append(schema)
    for versions in by_type.values():
        versions.sort(key=lambda s: s.version)
    return by_type


@cache
def _by_fingerprint() -> dict[bytes, Schema]:
    return {s.fingerprint: s for versions in _schemas().values() for s in versions}


def schema_versions(event_type: str) -> list[Schema]:
    """Every published version of one event type, oldest first."""
    try:
        return _schemas()[event_type]
    except KeyError:
        raise KeyError(f"no schema for event type {event_type!r} in {SCHEMA_DIR}") from None


def latest(event_type: str) -> Schema:
    return schema_versions(event_type)[-1]


def encode(event_type: str, value: dict[str, Any], version: int | None = None) -> bytes:
    """Encode with the newest schema of the type (or the given version)."""
    versions = schema_versions(event_type)
    schema = versions[-1] if version is None else next(s for s in versions if s.version == version)
    out = io.BytesIO()
    out.write(MAGIC)
    out.write(schema.fingerprint)
    fastavro.schemaless_writer(out, schema.parsed, value)
    return out.getvalue()


def decode(data: bytes | None) -> Decoded:
    """Decode any event of this repo, resolved to the newest version of its type."""
    if data is None or len(data) < HEADER_LEN or data[:2] != MAGIC:
        raise UndecodableEvent("not an Avro single-object encoded record (missing C3 01 header)")
    writer = _by_fingerprint().get(data[2:HEADER_LEN])
    if writer is None:
        raise UndecodableEvent(f"unknown schema fingerprint {data[2:HEADER_LEN].hex()}")
    reader = latest(writer.type)
    try:
        value = fastavro.schemaless_reader(
            io.BytesIO(data[HEADER_LEN:]), writer.parsed, reader.parsed
        )
    except Exception as error:  # fastavro raises several types for truncated or corrupt bodies
        raise UndecodableEvent(f"corrupt {writer.type} v{writer.version} body: {error}") from error
    return Decoded(writer.type, writer.version, value)
