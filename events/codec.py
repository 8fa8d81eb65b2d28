"""The bank's Avro events in the Confluent wire format, their schemas kept in a schema registry.

Each value is a 0 byte + the registry's 4-byte schema id (big-endian) + the Avro binary body
(fastavro), the format that kcat ``-s value=avro``, Kafka UI, Connect's Avro converters and ksqlDB
read. Every schema version ever published lives in ``schemas/`` as ``<type>.v<N>.avsc``; the one a
writer uses is registered under the subject of the topic it writes to (``<topic>-value``), with
compatibility BACKWARD, so the registry refuses an edit that would leave a reader unable to read
the records already written. A reader fetches the writer's schema by id (once per id) and resolves
it to the newest version of the same type that it knows, so old and new records stay readable.

Records written before the registry, in Avro single-object encoding (``C3 01`` + the 8-byte
CRC-64-AVRO fingerprint of the writer schema + the body), stay readable: the first byte tells.
"""

from __future__ import annotations

import io
import json
import re
import struct
import threading
import time
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastavro
import httpx
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from events.topics import BANK, DerivedTopics
from kernel.settings import Settings

# The registry client loads Authlib's httpx integration (for OAuth, unused here), which warns about
# its own deprecation in the output of every command that reads an event, through a filter of its
# own that shows it always: ours goes in front of it for these imports only.
with warnings.catch_warnings():
    import authlib.deprecate

    warnings.filterwarnings("ignore", category=authlib.deprecate.AuthlibDeprecationWarning)
    from confluent_kafka.schema_registry import Schema as RegisteredSchema
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.error import SchemaRegistryError

SCHEMA_DIR = Path(__file__).parent / "schemas"
WIRE_MAGIC = b"\x00"
WIRE_HEADER_LEN = 5
SINGLE_OBJECT_MAGIC = b"\xc3\x01"
SINGLE_OBJECT_HEADER_LEN = len(SINGLE_OBJECT_MAGIC) + 8
COMPATIBILITY = "BACKWARD"
_FILE_NAME = re.compile(r"^(?P<type>[a-z_]+)\.v(?P<version>\d+)\.avsc$")
# A reader waits this long for an unreachable registry before it gives a record up, and then
# asks again only after the pause: a gateway reading thousands of records of an unknown id while
# the registry is down must not wait the patience out for each of them.
REGISTRY_PATIENCE_SECONDS = 3.0
REGISTRY_PAUSE_SECONDS = 5.0
# How long a process starting up asks again a registry that does not answer its registrations.
REGISTRATION_PATIENCE_SECONDS = 90.0


class UndecodableEvent(ValueError):
    """The bytes are not an event of a schema this repo (or the registry) knows."""


class RegistryUnavailable(RuntimeError):
    """The schema registry did not answer; the record is fine, try again later."""


@dataclass(frozen=True)
class Schema:
    type: str
    version: int
    parsed: Any
    fingerprint: bytes
    # The text registered: the same bytes every time, so registering again finds the same id.
    text: str

    @property
    def full_name(self) -> str:
        return self.parsed["name"]


@dataclass(frozen=True)
class Decoded:
    type: str
    # The repo's version of the writer schema; None for a version newer than this reader knows.
    version: int | None
    value: dict[str, Any]


def registry_url() -> str:
    """The registry's Confluent-compatible API (Apicurio serves it under /apis/ccompat/v7)."""
    return str(Settings.load().schema_registry_url)


def subject(topic: str) -> str:
    """The subject of a topic's values (Confluent's TopicNameStrategy)."""
    return f"{topic}-value"


def topic_of(event_type: str, topics: DerivedTopics = BANK) -> str:
    """The topic each event type is written to."""
    by_type = {
        "balance_changed": topics.balance_changed,
        "account_balance": topics.balances,
        "alert": topics.alerts,
        "dead_letter": topics.dead_letters,
    }
    try:
        return by_type[event_type]
    except KeyError:
        raise KeyError(f"no topic for event type {event_type!r}") from None


def load_schemas(schema_dir: Path) -> dict[str, list[Schema]]:
    """Every ``<type>.v<N>.avsc`` of a folder, by type, oldest version first."""
    by_type: dict[str, list[Schema]] = {}
    for path in sorted(schema_dir.glob("*.avsc")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise RuntimeError(f"schema file {path.name} is not named <type>.v<N>.avsc")
        raw = json.loads(path.read_text())
        parsed = parse_schema(raw)
        digest = bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))
        text = json.dumps(raw, separators=(",", ":"), sort_keys=True)
        schema = Schema(match["type"], int(match["version"]), parsed, digest, text)
        by_type.setdefault(schema.type, []).append(schema)
    for versions in by_type.values():
        versions.sort(key=lambda s: s.version)
    return by_type


class Codec:
    """Encodes and decodes the events of one schema folder through one registry."""

    def __init__(self, schema_dir: Path = SCHEMA_DIR, url: str | None = None) -> None:
        self.schemas = load_schemas(schema_dir)
        self.url = url or registry_url()
        self._by_fingerprint = {s.fingerprint: s for vs in self.schemas.values() for s in vs}
        self._by_name = {vs[-1].full_name: vs[-1].type for vs in self.schemas.values()}
        self._client: SchemaRegistryClient | None = None
        self._ids: dict[tuple[str, str], int] = {}  # (subject, schema text) -> id
        self._writers: dict[int, tuple[Any, str, int | None]] = {}  # id -> (schema, type, version)
        self._unreachable_until = 0.0  # time.monotonic() before which the registry is not asked
        self._lock = threading.Lock()

    @property
    def client(self) -> SchemaRegistryClient:
        if self._client is None:
            self._client = SchemaRegistryClient({"url": self.url, "timeout": 5})
        return self._client

    def schema_versions(self, event_type: str) -> list[Schema]:
        try:
            return self.schemas[event_type]
        except KeyError:
            raise KeyError(f"no schema for event type {event_type!r}") from None

    def latest(self, event_type: str) -> Schema:
        return self.schema_versions(event_type)[-1]

    # -- writing --------------------------------------------------------------------------------

    def register(self, topic: str, schema: Schema) -> int:
        """The id of ``schema`` under the topic's subject: registered (compatibility BACKWARD set
        first) unless it already is. The registry refuses an incompatible schema: that raises."""
        key = (subject(topic), schema.text)
        with self._lock:
            known = self._ids.get(key)
        if known is not None:
            return known
        try:
            self.client.set_compatibility(subject_name=key[0], level=COMPATIBILITY)
        except SchemaRegistryError as error:
            # Two workers starting together: Apicurio refuses the second rule with a 409.
            current = self.client.get_compatibility(subject_name=key[0])
            if error.http_status_code != 409 or current != COMPATIBILITY:
                raise
        schema_id = self.client.register_schema(key[0], RegisteredSchema(schema.text, "AVRO"))
        with self._lock:
            self._ids[key] = schema_id
            self._writers[schema_id] = (schema.parsed, schema.type, schema.version)
        return schema_id

    @retry(
        retry=retry_if_exception_type(httpx.TransportError),
        wait=wait_exponential(multiplier=0.5, max=5),
        stop=stop_after_delay(REGISTRATION_PATIENCE_SECONDS),
        reraise=True,
    )
    def register_topics(self, topics: dict[str, str]) -> dict[str, int]:
        """Register the newest schema of each event type (role) under its topic's subject. A
        registry that does not answer in time is asked again (registering is idempotent): on a
        busy machine its first writes to its journal (waiting for two copies on a cluster) can
        take longer than one request's timeout."""
        return {role: self.register(topic, self.latest(role)) for role, topic in topics.items()}

    def encode(
        self,
        event_type: str,
        value: dict[str, Any],
        version: int | None = None,
        topic: str | None = None,
    ) -> bytes:
        """Encode with the newest schema of the type (or the given version), for ``topic``
        (the bank's topic of the type by default)."""
        versions = self.schema_versions(event_type)
        schema = (
            versions[-1] if version is None else next(s for s in versions if s.version == version)
        )
        schema_id = self.register(topic or topic_of(event_type), schema)
        out = io.BytesIO()
        out.write(WIRE_MAGIC)
        out.write(struct.pack(">I", schema_id))
        fastavro.schemaless_writer(out, schema.parsed, value)
        return out.getvalue()

    # -- reading --------------------------------------------------------------------------------

    def decode(self, data: bytes | None) -> Decoded:
        """Decode any event of the bank, resolved to the newest version of its type."""
        if data and data[:1] == WIRE_MAGIC and len(data) >= WIRE_HEADER_LEN:
            (schema_id,) = struct.unpack(">I", data[1:WIRE_HEADER_LEN])
            writer, event_type, version = self._writer(schema_id)
            return self._read(data[WIRE_HEADER_LEN:], writer, event_type, version)
        if data and data[:2] == SINGLE_OBJECT_MAGIC and len(data) >= SINGLE_OBJECT_HEADER_LEN:
            known = self._by_fingerprint.get(data[2:SINGLE_OBJECT_HEADER_LEN])
            if known is None:
                raise UndecodableEvent(
                    f"unknown schema fingerprint {data[2:SINGLE_OBJECT_HEADER_LEN].hex()}"
                )
            return self._read(
                data[SINGLE_OBJECT_HEADER_LEN:], known.parsed, known.type, known.version
            )
        raise UndecodableEvent(
            "not an Avro event: neither the registry's wire format (00 + schema id) "
            "nor single-object encoding (C3 01)"
        )

    def _read(self, body: bytes, writer: Any, event_type: str, version: int | None) -> Decoded:
        try:
            value = fastavro.schemaless_reader(
                io.BytesIO(body), writer, self.latest(event_type).parsed
            )
        except Exception as error:  # fastavro raises several types for truncated or corrupt bodies
            label = f"{event_type} v{version}" if version else event_type
            raise UndecodableEvent(f"corrupt {label} body: {error}") from error
        return Decoded(event_type, version, value)

    def _writer(self, schema_id: int) -> tuple[Any, str, int | None]:
        with self._lock:
            known = self._writers.get(schema_id)
        if known is not None:
            return known
        if time.monotonic() < self._unreachable_until:
            raise RegistryUnavailable(f"schema registry at {self.url} did not answer just now")
        try:
            text = self._fetch(schema_id)
        except RegistryUnavailable:
            self._unreachable_until = time.monotonic() + REGISTRY_PAUSE_SECONDS
            raise
        parsed = parse_schema(json.loads(text))
        event_type = self._by_name.get(parsed.get("name"))
        if event_type is None:
            raise UndecodableEvent(
                f"schema id {schema_id} is {parsed.get('name')!r}, not an event type of this repo"
            )
        digest = bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))
        local = self._by_fingerprint.get(digest)
        writer = (parsed, event_type, local.version if local else None)
        with self._lock:
            self._writers[schema_id] = writer
        return writer

    @retry(
        retry=retry_if_exception_type(RegistryUnavailable),
        wait=wait_exponential(multiplier=0.2, max=2),
        stop=stop_after_delay(REGISTRY_PATIENCE_SECONDS),
        reraise=True,
    )
    def _fetch(self, schema_id: int) -> str:
        try:
            return self.client.get_schema(schema_id).schema_str
        except SchemaRegistryError as error:
            if error.http_status_code == 404:
                raise UndecodableEvent(f"schema id {schema_id} is not in the registry") from error
            raise RegistryUnavailable(f"{self.url}: {error}") from error
        except Exception as error:  # httpx raises connection and timeout errors of many types
            raise RegistryUnavailable(f"schema registry at {self.url}: {error}") from error


@cache
def default() -> Codec:
    """The codec of the repo's schemas and the configured registry, shared by the process."""
    return Codec()


def encode(
    event_type: str, value: dict[str, Any], version: int | None = None, topic: str | None = None
) -> bytes:
    return default().encode(event_type, value, version, topic)


def decode(data: bytes | None) -> Decoded:
    return default().decode(data)


def schema_versions(event_type: str) -> list[Schema]:
    """Every published version of one event type, oldest first."""
    return default().schema_versions(event_type)


def latest(event_type: str) -> Schema:
    return default().latest(event_type)


def register_topics(topics: dict[str, str]) -> dict[str, int]:
    return default().register_topics(topics)
