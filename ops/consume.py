"""What `bankctl consume` reads: where it starts, where it stops, which records it keeps."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from ops.errors import OpsError
from ops.kafka import Kafka, Position
from ops.records import Record, from_message, key_matches

TAIL = 10
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


@dataclass(frozen=True)
class Selection:
    """The records asked for. Without a start, the last ``limit`` (default 10) records."""

    topic: str
    partition: int | None = None
    key: str | None = None
    from_beginning: bool = False
    since_ms: int | None = None
    limit: int | None = None

    @property
    def from_start(self) -> bool:
        return self.from_beginning or self.since_ms is not None


def history(kafka: Kafka, selection: Selection) -> tuple[list[Record], dict[Position, int]]:
    """The records already in the topic, oldest first, and the end offsets where following
    continues; both taken at the same moment."""
    positions = kafka.positions(selection.topic, selection.partition)
    marks = kafka.watermarks(positions)
    ends = {pos: high for pos, (_, high) in marks.items()}
    starts = _starts(kafka, selection, marks)
    ranges = {pos: (starts[pos], ends[pos]) for pos in positions}
    if selection.from_start and selection.limit and not selection.key:
        # Each partition can give at most `limit` of the first `limit` records.
        ranges = {pos: (a, min(b, a + selection.limit)) for pos, (a, b) in ranges.items()}
    records = [r for r in map(from_message, kafka.read(ranges)) if _wanted(r, selection)]
    records.sort(key=lambda r: (r.timestamp or 0, r.partition, r.offset))
    if selection.from_start:
        return (records[: selection.limit] if selection.limit else records), ends
    return records[-(selection.limit or TAIL) :], ends


def end_offsets(kafka: Kafka, selection: Selection) -> dict[Position, int]:
    """Where new records of the selection will appear: following from here skips all history."""
    marks = kafka.watermarks(kafka.positions(selection.topic, selection.partition))
    return {pos: high for pos, (_, high) in marks.items()}


def follow(
    kafka: Kafka, selection: Selection, ends: dict[Position, int], stop: threading.Event
) -> Iterator[Record]:
    """New records as they arrive, from the end offsets ``history`` saw, until ``stop`` is set."""
    for message in kafka.follow(ends, stop):
        record = from_message(message)
        if _wanted(record, selection):
            yield record


def _starts(
    kafka: Kafka, selection: Selection, marks: dict[Position, tuple[int, int]]
) -> dict[Position, int]:
    if selection.since_ms is not None:
        found = kafka.offsets_at(marks, selection.since_ms)
        return {pos: max(low, found[pos]) for pos, (low, _) in marks.items()}
    if selection.from_beginning or selection.key:
        # The last records of one key can be anywhere in a partition.
        return {pos: low for pos, (low, _) in marks.items()}
    tail = selection.limit or TAIL
    return {pos: max(low, high - tail) for pos, (low, high) in marks.items()}


def _wanted(record: Record, selection: Selection) -> bool:
    return selection.key is None or key_matches(record.key, selection.key)


def parse_since(text: str, now_ms: int | None = None) -> int:
    """Epoch milliseconds of a time given as a duration ago (90s, 10m, 2h, 1d), an ISO 8601
    time (UTC unless it says otherwise) or epoch milliseconds."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    text = text.strip()
    match = _DURATION.match(text)
    if match:
        return now_ms - int(float(match[1]) * _UNIT_MS[match[2]])
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise OpsError(
            f"--since {text!r} is not a time",
            hint="a duration ago (90s, 10m, 2h, 1d), an ISO time (2026-11-23T09:30) or epoch ms",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
