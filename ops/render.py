"""How bankctl prints, for every command: consoles, JSON, times and durations.

People read amounts next to a currency code in major units (``12,176.01 EUR``); JSON keeps the
integer minor units of the events. A terminal narrower than ``WIDE`` columns gets one block per
record instead of a table whose columns would be a few characters wide.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

# Below this many columns tables of records and traces turn into blocks, one per record.
WIDE = 120


def console(stderr: bool = False) -> Console:
    """A console on the current stdout (or stderr). Lines of text are never wrapped, and tables
    get a wide page when not on a terminal, so that piped output and grep see whole lines."""
    stream = sys.stderr if stderr else sys.stdout
    wide = not stream.isatty() and not os.environ.get("COLUMNS")
    return Console(file=stream, width=200 if wide else None, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def narrow(out: Console | None = None) -> bool:
    return (out or console()).width < WIDE


def print_all(items: Iterable[Table | str]) -> None:
    out = console()
    for item in items:
        out.print(item)


def print_jsonl(items: Iterable[Any]) -> None:
    for item in items:
        sys.stdout.write(json.dumps(item, default=str) + "\n")
    sys.stdout.flush()


def when(ms: int | None) -> str:
    """Epoch milliseconds as a UTC time with milliseconds."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def duration(ms: float | None) -> str:
    if ms is None:
        return "n/a"
    sign, ms = ("-" if ms < 0 else ""), abs(ms)
    if ms < 1000:
        return f"{sign}{ms:.0f} ms"
    if ms < 120_000:
        return f"{sign}{ms / 1000:.1f} s"
    if ms < 7_200_000:
        return f"{sign}{ms / 60_000:.0f} min"
    if ms < 172_800_000:
        return f"{sign}{ms / 3_600_000:.0f} h"
    return f"{sign}{ms / 86_400_000:.0f} d"


def retention(ms: int | None) -> str:
    # Kafka's "keep forever" is -1; Debezium asks for Long.MAX_VALUE.
    return "forever" if ms is None or ms >= 2**62 else duration(ms)
