"""Prometheus metrics of the gateway, served at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

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
MESSAGES_OUT = Counter("soe_messages_out_total", "Messages sent to websocket clients", ["type"])
QUEUE_DROPS = Counter(
    "soe_queue_drops_total",
    "Clients disconnected because their send queue was full (they stopped reading)",
)
CONSUMER_LAG = Gauge("soe_consumer_lag", "Records not yet read by the gateway, by topic", ["topic"])
KAFKA_CONSUMERS = Gauge("soe_kafka_consumers", "Kafka consumers this process holds (always 0 or 1)")
READY = Gauge("soe_ready", "1 once the gateway has caught up with Kafka")
ACCOUNTS = Gauge("soe_accounts", "Accounts the gateway holds in memory")
