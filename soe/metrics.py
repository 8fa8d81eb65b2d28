"""Prometheus metrics of the gateway, served at /metrics."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily

CONNECTIONS = Gauge("soe_connections", "Authenticated websocket connections open now")
HANDSHAKES = Counter(
    "soe_handshakes_total",
    "Websocket handshakes by outcome",
    ["outcome"],
)
EVENTS_IN = Counter("soe_events_in_total", "Kafka records read, by topic", ["topic"])
UNDECODABLE = Counter(
    "soe_undecodable_records_total",
    "Kafka records skipped because they could not be read",
    ["topic"],
)
DUPLICATES = Counter(
    "soe_duplicate_events_total", "BalanceChanged events dropped as replays of one already seen"
)
MESSAGES_QUEUED = Counter(
    "soe_messages_queued_total",
    "Messages that waited in a client's send queue instead of going straight to its socket "
    "(its socket was full, or something of it was already queued; soe/wire.py)",
)
QUEUE_DROPS = Counter(
    "soe_queue_drops_total",
    "Clients closed because their send queue was full (they stopped reading)",
)
CONSUMER_LAG = Gauge("soe_consumer_lag", "Records not yet read by the gateway, by topic", ["topic"])
KAFKA_CONSUMERS = Gauge("soe_kafka_consumers", "Kafka consumers this process holds (always 0 or 1)")
READY = Gauge("soe_ready", "1 once the gateway has caught up with Kafka")
ACCOUNTS = Gauge("soe_accounts", "Accounts the gateway holds in memory")
SEND_QUEUE_PEAK_MESSAGES = Gauge(
    "soe_send_queue_peak_messages", "The most messages any one client's send queue has held"
)
SEND_QUEUE_PEAK_BYTES = Gauge(
    "soe_send_queue_peak_bytes", "The most bytes any one client's send queue has held"
)
GC_FULL_PAUSES = Histogram(
    "soe_gc_full_pause_seconds",
    "Full garbage collections, each a pause of the whole gateway (soe/collector.py)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
CLOSES = Counter("soe_closes_total", "Connections the gateway closed, by close code", ["code"])
REFUSED_CONNECTIONS = Counter(
    "soe_refused_connections_total",
    "Websocket handshakes refused by a connection limit, by limit",
    ["limit"],
)
UNAUTHENTICATED = Gauge(
    "soe_unauthenticated_connections", "Websockets open now that have not signed in yet"
)

_peak = {"messages": 0, "bytes": 0}


def record_send_queue(messages: int, size: int) -> None:
    """Called on every queued message: cheap unless a new peak is reached."""
    if messages > _peak["messages"]:
        _peak["messages"] = messages
        SEND_QUEUE_PEAK_MESSAGES.set(messages)
    if size > _peak["bytes"]:
        _peak["bytes"] = size
        SEND_QUEUE_PEAK_BYTES.set(size)


class SentCounts:
    """``soe_messages_out_total{type}``, counted in a plain dict and read when scraped: a
    Counter takes a lock on every increment, and a fan-out to 10,000 clients writes 10,000
    frames (the event loop is the only writer)."""

    def __init__(self) -> None:
        self.by_type: dict[str, int] = {}

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "soe_messages_out", "Messages sent to websocket clients", labels=["type"]
        )
        for kind, count in sorted(self.by_type.items()):
            family.add_metric([kind], count)
        yield family


SENT = SentCounts()
REGISTRY.register(SENT)


def sent(kind: str, count: int = 1) -> None:
    """``count`` messages of type ``kind`` written to clients."""
    by_type = SENT.by_type
    by_type[kind] = by_type.get(kind, 0) + count
