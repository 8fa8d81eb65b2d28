"""Events in Avro single-object encoding, as the bank wrote them before the schema registry: what
an upgraded stack still holds on its topics and must still read."""

from __future__ import annotations

import io
from typing import Any

import fastavro

from events import codec


def single_object(event_type: str, value: dict[str, Any]) -> bytes:
    schema = codec.load_schemas(codec.SCHEMA_DIR)[event_type][-1]
    out = io.BytesIO()
    out.write(codec.SINGLE_OBJECT_MAGIC + schema.fingerprint)
    fastavro.schemaless_writer(out, schema.parsed, value)
    return out.getvalue()
