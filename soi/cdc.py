"""Reading Debezium's JSON change envelopes (value converter with schemas disabled)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from events.position import SourcePosition


class ContractViolation(ValueError):
    """The record cannot be read, or breaks the CDC contract; it goes to the dead-letter topic."""


@dataclass(frozen=True)
class Change:
    """One row change: op is c (insert), u (update), d (delete) or r (snapshot read)."""

    op: str
    table: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    position: SourcePosition
    committed_at: int
    captured_at: int
    gtid: str | None
    snapshot: bool

    @property
    def row(self) -> dict[str, Any]:
        """The row's latest image: after, or before for a delete."""
        image = self.after if self.after is not None else self.before
        assert image is not None  # guaranteed by parse_envelope
        return image


def parse_envelope(raw: bytes | None) -> Change | None:
    """Parse a CDC value; None for a tombstone (the null value Debezium sends after a delete)."""
    if raw is None:
        return None
    try:
        envelope = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ContractViolation(f"value is not JSON: {error}") from None
    if not isinstance(envelope, dict):
        raise ContractViolation("value is not a JSON object")
    if "payload" in envelope and "schema" in envelope:
        raise ContractViolation(
            "envelope carries a schema; set value.converter.schemas.enable=false"
        )
    op = envelope.get("op")
    if op not in ("c", "u", "d", "r"):
        raise ContractViolation(f"unknown op {op!r}")
    before, after = envelope.get("before"), envelope.get("after")
    if (op == "d" and not isinstance(before, dict)) or (op != "d" and not isinstance(after, dict)):
        raise ContractViolation(f"op {op!r} without the row image it needs")
    source = envelope.get("source")
    if not isinstance(source, dict):
        raise ContractViolation("no source block")
    try:
        position = SourcePosition.from_source(source)
        committed_at = int(source["ts_ms"])
        captured_at = int(envelope.get("ts_ms") or committed_at)
    except (KeyError, TypeError, ValueError) as error:
        raise ContractViolation(f"source position unreadable: {error!r}") from None
    return Change(
        op=op,
        table=str(source.get("table") or ""),
        before=before,
        after=after,
        position=position,
        committed_at=committed_at,
        captured_at=captured_at,
        gtid=source.get("gtid"),
        snapshot=op == "r" or source.get("snapshot") in ("true", "last", "first", True),
    )
