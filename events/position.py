"""Where a change sits in the system of record's binlog, and the event id built from it.

Every derived event carries ``event_id``: the same CDC record, replayed or delivered twice,
gives the same id, so consumers can drop the repeat. The worker derives events from positions;
bankctl finds the derived event of a CDC record by the same rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The connector's topic prefix names the source: ids stay apart should another source appear.
EVENT_ID_PREFIX = "sor"


@dataclass(frozen=True, order=True)
class SourcePosition:
    """Where a change sits in MariaDB's binlog; orders changes of one account."""

    file: str
    pos: int
    row: int

    @classmethod
    def from_source(cls, source: Mapping[str, Any]) -> SourcePosition:
        """From a Debezium envelope's ``source`` block; KeyError, TypeError or ValueError when it
        has no readable position."""
        return cls(str(source["file"]), int(source["pos"]), int(source.get("row", 0)))

    @property
    def event_id(self) -> str:
        return f"{EVENT_ID_PREFIX}:{self.file}:{self.pos}:{self.row}"
