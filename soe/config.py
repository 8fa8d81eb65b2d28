"""The gateway's settings: a few environment variables with loopback defaults.

Shared names (Kafka, ports, the state folder, the topics) come from ``kernel`` so every process
of the bank agrees; the names below (BANK_SOE_*) are the gateway's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from events.topics import DerivedTopics, configured_topics
from kernel.kafka_client import KafkaClientSettings, from_environment
from kernel.settings import BankSettings, Settings, comma_separated
from soe import fan_out_log
from soe.limits import ConnectionLimits


@dataclass(frozen=True)
class GatewayConfig:
    # Address, TLS and SASL of the cluster (BANK_KAFKA_*, kernel/kafka_client.py).
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


# uvicorn's websocket servers this gateway is measured with (docs/performance.md, fan-out):
# "websockets-sansio" holds no task of its own per connection and reads one frame at a time.
WsImplementation = Literal["websockets-sansio", "websockets"]
WS_IMPLEMENTATIONS: tuple[str, ...] = get_args(WsImplementation)


class GatewaySettings(BankSettings):
    """The gateway's own variables (BANK_SOE_*), each checked when read."""

    model_config = SettingsConfigDict(env_prefix="BANK_SOE_")

    history_per_account: int = Field(default=100, ge=1)
    history_load_per_partition: int = Field(default=10_000, ge=1)
    snapshot_history: int = Field(default=20, ge=1)
    fan_out_log_size: int = Field(default=fan_out_log.DEFAULT_CAPACITY, ge=1)
    # The feed hands writers the loop every 32 records; a smaller queue would drop fast readers.
    send_queue: int = Field(default=1024, ge=64)
    # Room for the largest snapshot (20 movements with reasons of up to 1000 characters).
    send_queue_bytes: int = Field(default=4 * 2**20, ge=256 * 2**10)
    max_message_bytes: int = Field(default=4096, ge=1)
    client_messages_per_second: int = Field(default=10, ge=1)
    # Ten malformed or refused messages close a connection (1008) before the rate does.
    client_message_burst: int = Field(default=30, ge=11)
    max_connections: int = Field(default=10_000, ge=1)
    max_connections_per_address: int = Field(default=200, ge=1)
    max_connections_per_principal: int = Field(default=10, ge=1)
    max_unauthenticated: int = Field(default=500, ge=1)
    # Off: permessage-deflate costs memory on every connection and inflates what a client
    # sends before anything can look at it (see docs/live-feed-protocol.md).
    ws_compression: bool = False
    ws_implementation: WsImplementation = "websockets-sansio"
    # The frame-once path (soe/wire.py); off, every message goes through an ASGI send.
    shared_frames: bool = True
    heartbeat_seconds: int = Field(default=15, ge=1)
    idle_timeout_seconds: int | None = Field(default=None, ge=1)  # three heartbeats unless set
    auth_timeout_seconds: int = Field(default=10, ge=1)
    kafka_retry_seconds: int = Field(default=2, ge=1)
    # Shared with the system of record, which signs the tokens the gateway checks.
    live_token_public_key: str | None = Field(
        default=None, validation_alias="BANK_LIVE_TOKEN_PUBLIC_KEY"
    )
    sor_public_url: str | None = Field(default=None, validation_alias="BANK_SOR_PUBLIC_URL")
    trusted_proxies: str = Field(default="", validation_alias="BANK_TRUSTED_PROXIES")


def load_config() -> GatewayConfig:
    stack = Settings.load()
    own = GatewaySettings.load()
    return GatewayConfig(
        kafka=from_environment(),
        topics=configured_topics(),
        public_key_pem=own.live_token_public_key,
        public_key_file=stack.path("keys", "live-token-ed25519.pub.pem"),
        dashboard_origins=frozenset(stack.dashboard_origins),
        sor_public_url=(own.sor_public_url or stack.sor_url).rstrip("/"),
        history_per_account=own.history_per_account,
        history_load_per_partition=own.history_load_per_partition,
        snapshot_history=own.snapshot_history,
        fan_out_log_size=own.fan_out_log_size,
        send_queue_size=own.send_queue,
        send_queue_bytes=own.send_queue_bytes,
        max_message_bytes=own.max_message_bytes,
        client_messages_per_second=own.client_messages_per_second,
        client_message_burst=own.client_message_burst,
        limits=ConnectionLimits(
            total=own.max_connections,
            per_address=own.max_connections_per_address,
            per_principal=own.max_connections_per_principal,
            unauthenticated=own.max_unauthenticated,
        ),
        compression=own.ws_compression,
        ws_implementation=own.ws_implementation,
        shared_frames=own.shared_frames,
        trusted_proxies=tuple(comma_separated(own.trusted_proxies)),
        heartbeat_seconds=own.heartbeat_seconds,
        idle_timeout_seconds=own.idle_timeout_seconds or 3 * own.heartbeat_seconds,
        auth_timeout_seconds=own.auth_timeout_seconds,
        retry_seconds=own.kafka_retry_seconds,
    )
