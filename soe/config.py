"""The gateway's settings: a few environment variables with loopback defaults.

Shared names (Kafka bootstrap, ports, the state folder) come from ``stack.settings`` so every
process of the bank agrees; the names below are the gateway's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from events.topics import DEFAULT_NAMESPACE, DerivedTopics, derived_topics
from soe import fan_out_log
from soe.limits import ConnectionLimits
from stack.kafka_client import KafkaClientSettings, from_environment
from stack.settings import ConfigurationError, env, env_int, settings


@dataclass(frozen=True)
class GatewayConfig:
    # Address, TLS and SASL of the cluster (BANK_KAFKA_*, stack/kafka_client.py).
    kafka: KafkaClientSettings
    topics: DerivedTopics
    # PEM text of the Ed25519 public key, or None to read public_key_file when first needed.
    public_key_pem: str | None
    public_key_file: Path
    dashboard_origins: frozenset[str]
    sor_public_url: str
    history_per_account: int
    history_load_per_partition: int
    snapshot_history: int
    fan_out_log_size: int
    send_queue_size: int
    send_queue_bytes: int
    max_message_bytes: int
    client_messages_per_second: int
    client_message_burst: int
    limits: ConnectionLimits
    compression: bool
    ws_implementation: str
    shared_frames: bool
    trusted_proxies: tuple[str, ...]
    heartbeat_seconds: float
    idle_timeout_seconds: float
    auth_timeout_seconds: float
    retry_seconds: float


def _at_least(name: str, default: int, minimum: int = 1) -> int:
    value = env_int(name, default)
    if value < minimum:
        raise ConfigurationError(f"{name}={value} must be at least {minimum}")
    return value


def _flag(name: str, default: bool) -> bool:
    raw = env(name, "true" if default else "false").strip().lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigurationError(f"{name}={raw!r} must be true or false")
    return raw in ("true", "1", "yes")


# uvicorn's websocket servers this gateway is measured with (docs/performance.md, fan-out):
# "websockets-sansio" holds no task of its own per connection and reads one frame at a time.
WS_IMPLEMENTATIONS = ("websockets-sansio", "websockets")


def _ws_implementation() -> str:
    name = env("BANK_SOE_WS_IMPLEMENTATION", WS_IMPLEMENTATIONS[0]).strip()
    if name not in WS_IMPLEMENTATIONS:
        raise ConfigurationError(
            f"BANK_SOE_WS_IMPLEMENTATION={name!r} must be one of {', '.join(WS_IMPLEMENTATIONS)}"
        )
    return name


def _connection_limits() -> ConnectionLimits:
    return ConnectionLimits(
        total=_at_least("BANK_SOE_MAX_CONNECTIONS", 10_000),
        per_address=_at_least("BANK_SOE_MAX_CONNECTIONS_PER_ADDRESS", 200),
        per_principal=_at_least("BANK_SOE_MAX_CONNECTIONS_PER_PRINCIPAL", 10),
        unauthenticated=_at_least("BANK_SOE_MAX_UNAUTHENTICATED", 500),
    )


def _topics() -> DerivedTopics:
    namespace = env("BANK_TOPIC_NAMESPACE", DEFAULT_NAMESPACE)
    try:
        return derived_topics(namespace)
    except ValueError as error:
        raise ConfigurationError(f"BANK_TOPIC_NAMESPACE: {error}") from None


def load_config() -> GatewayConfig:
    stack = settings()
    heartbeat = _at_least("BANK_SOE_HEARTBEAT_SECONDS", 15)
    return GatewayConfig(
        kafka=from_environment(),
        topics=_topics(),
        public_key_pem=env("BANK_LIVE_TOKEN_PUBLIC_KEY", "") or None,
        public_key_file=stack.path("keys", "live-token-ed25519.pub.pem"),
        dashboard_origins=frozenset(stack.dashboard_origins),
        sor_public_url=env("BANK_SOR_PUBLIC_URL", stack.sor_url).rstrip("/"),
        history_per_account=_at_least("BANK_SOE_HISTORY_PER_ACCOUNT", 100),
        history_load_per_partition=_at_least("BANK_SOE_HISTORY_LOAD_PER_PARTITION", 10_000),
        snapshot_history=_at_least("BANK_SOE_SNAPSHOT_HISTORY", 20),
        fan_out_log_size=_at_least("BANK_SOE_FAN_OUT_LOG_SIZE", fan_out_log.DEFAULT_CAPACITY),
        # The feed hands writers the loop every 32 records; a smaller queue would drop fast readers.
        send_queue_size=_at_least("BANK_SOE_SEND_QUEUE", 1024, minimum=64),
        # Room for the largest snapshot (20 movements with reasons of up to 1000 characters).
        send_queue_bytes=_at_least("BANK_SOE_SEND_QUEUE_BYTES", 4 * 2**20, minimum=256 * 2**10),
        max_message_bytes=_at_least("BANK_SOE_MAX_MESSAGE_BYTES", 4096),
        client_messages_per_second=_at_least("BANK_SOE_CLIENT_MESSAGES_PER_SECOND", 10),
        # Ten malformed or refused messages close a connection (1008) before the rate does.
        client_message_burst=_at_least("BANK_SOE_CLIENT_MESSAGE_BURST", 30, minimum=11),
        limits=_connection_limits(),
        # Off: permessage-deflate costs memory on every connection and inflates what a client
        # sends before anything can look at it (see docs/live-feed-protocol.md).
        compression=_flag("BANK_SOE_WS_COMPRESSION", False),
        ws_implementation=_ws_implementation(),
        # The frame-once path (soe/wire.py); off, every message goes through an ASGI send.
        shared_frames=_flag("BANK_SOE_SHARED_FRAMES", True),
        trusted_proxies=tuple(
            proxy.strip() for proxy in env("BANK_TRUSTED_PROXIES", "").split(",") if proxy.strip()
        ),
        heartbeat_seconds=heartbeat,
        idle_timeout_seconds=_at_least("BANK_SOE_IDLE_TIMEOUT_SECONDS", 3 * heartbeat),
        auth_timeout_seconds=_at_least("BANK_SOE_AUTH_TIMEOUT_SECONDS", 10),
        retry_seconds=_at_least("BANK_SOE_KAFKA_RETRY_SECONDS", 2),
    )
