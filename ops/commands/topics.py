"""`bankctl topics`: every topic with its partitions, retention and message counts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from ops import config, render
from ops.commands import options
from ops.kafka import Kafka
from ops.render import narrow, retention
from ops.topics import TopicSummary, summaries


@options.reports_errors
def list_topics(
    as_json: options.JsonFlag = False,
    include_internal: Annotated[
        bool, typer.Option("--internal", help="Also Kafka's own topics (__consumer_offsets).")
    ] = False,
    bootstrap: options.Bootstrap = None,
    timeout: options.Timeout = 5.0,
) -> None:
    """Every topic: partitions, replication, retention or compaction, message counts.

    Message counts are end minus start offsets: an upper bound (≤) for a compacted topic.

    Example: `bankctl topics` or `bankctl topics --json | jq '.[].name'`
    """
    found = summaries(Kafka(config.kafka_bootstrap(bootstrap), timeout), include_internal)
    if as_json:
        render.print_json([t.to_json() for t in found])
    else:
        render.console().print(topics_table(found))


def topics_table(topics: list[TopicSummary]) -> Table:
    # A narrow terminal gets short headings and light borders, so no topic name is cut short.
    short = narrow()
    table = Table(title=f"{len(topics)} topics", box=box.SIMPLE_HEAD if short else box.HEAVY_HEAD)
    names = (
        ("topic", "parts", "repl", "isr", "cleanup", "kept", "messages")
        if short
        else (
            "topic",
            "partitions",
            "replication",
            "in sync (min)",
            "cleanup",
            "retention",
            "messages",
        )
    )
    for name in names:
        table.add_column(
            name,
            justify="left" if name in ("topic", "cleanup") else "right",
            overflow="fold",
            no_wrap=name != "topic",
        )
    for t in topics:
        compacted = "compact" in t.cleanup_policy
        table.add_row(
            escape(t.name),
            str(t.partitions),
            str(t.replication),
            in_sync(t),
            t.cleanup_policy,
            "-" if compacted and "delete" not in t.cleanup_policy else retention(t.retention_ms),
            f"{'≤ ' if compacted else ''}{t.messages:,}",
        )
    return table


def in_sync(topic: TopicSummary) -> str:
    """The fewest in-sync copies of a partition and the least a write needs: "3 (2)"; red when
    a partition has fewer than the minimum (writes to it are refused), yellow when one is short."""
    text = f"{topic.in_sync} ({topic.min_insync if topic.min_insync is not None else '?'})"
    if topic.min_insync is not None and topic.in_sync < topic.min_insync:
        return f"[red]{text}[/]"
    if topic.under_replicated:
        return f"[yellow]{text}, {topic.under_replicated} short[/]"
    return text
