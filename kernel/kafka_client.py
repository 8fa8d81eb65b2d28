"""How every process of the bank reaches Kafka: one set of BANK_KAFKA_* variables, rendered for
each client library the bank runs.

- librdkafka (confluent-kafka): the worker, bankctl, bench, the tests, readiness checks;
- aiokafka: the gateway;
- Kafka's Java clients: the Kafka Connect worker and, inside the Debezium connector, its schema
  history's own producer and consumer (configured apart from the worker's).

Unset, everything talks PLAINTEXT to the local broker. A managed cluster (docs/managed-kafka.md)
usually needs SASL_SSL with SCRAM-SHA-512 and, unless its certificates chain to a public CA, the
CA's PEM file. The password lives in BANK_KAFKA_SASL_PASSWORD only: the Java clients are given a
reference to it (Connect's env config provider), never its value, so it reaches no file on disk
and no REST answer, and the settings' repr hides it.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from kernel.settings import BankSettings, ConfigurationError, Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = {
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
}
DEFAULT_MECHANISM = "SCRAM-SHA-512"
PASSWORD_VARIABLE = "BANK_KAFKA_SASL_PASSWORD"
# Every variable read here: processes pass them through (stack/processes.py, docker-compose.yml).
VARIABLES = (
    "BANK_KAFKA_BOOTSTRAP",
    "BANK_KAFKA_SECURITY_PROTOCOL",
    "BANK_KAFKA_SASL_MECHANISM",
    "BANK_KAFKA_SASL_USERNAME",
    PASSWORD_VARIABLE,
    "BANK_KAFKA_SSL_CA_LOCATION",
)
# The prefixes under which Kafka Connect configures the clients it makes besides its own group
# client: source tasks' producers, sink tasks' consumers, the admin client that creates topics.
CONNECT_CLIENT_PREFIXES = ("", "producer.", "consumer.", "admin.")
# Debezium's schema history talks to Kafka with clients of its own, configured under these.
SCHEMA_HISTORY_PREFIXES = ("schema.history.internal.producer.", "schema.history.internal.consumer.")


class KafkaClientSettings(BankSettings):
    """Where Kafka is and how to authenticate to it, for any client library."""

    model_config = SettingsConfigDict(env_prefix="BANK_KAFKA_")

    bootstrap: str | None = None  # the shared settings' (the local broker) unless set
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = Field(default=None, repr=False)
    # PEM file of the CA that signed the brokers' certificates; None: the system's trust store.
    ssl_ca_location: Path | None = None

    @field_validator("security_protocol", "sasl_mechanism", mode="before")
    @classmethod
    def _upper_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    def _complete(self) -> None:
        if self.bootstrap is None:
            self._fill("bootstrap", Settings.load().kafka_bootstrap)
        if self.security_protocol not in PROTOCOLS:
            raise ConfigurationError(
                f"BANK_KAFKA_SECURITY_PROTOCOL={self.security_protocol!r} is not one of "
                f"{', '.join(PROTOCOLS)}"
            )
        if not self.uses_sasl:
            # Only SASL reads the login: left over from another setup, it must not leak into
            # a client's config.
            for name in ("sasl_mechanism", "sasl_username", "sasl_password"):
                self._fill(name, None)
        else:
            if self.sasl_mechanism is None:
                self._fill("sasl_mechanism", DEFAULT_MECHANISM)
            if self.sasl_mechanism not in MECHANISMS:
                raise ConfigurationError(
                    f"BANK_KAFKA_SASL_MECHANISM={self.sasl_mechanism!r} is not one of "
                    f"{', '.join(MECHANISMS)}"
                )
            if not self.sasl_username or self.sasl_password is None:
                raise ConfigurationError(
                    f"BANK_KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                    f"BANK_KAFKA_SASL_USERNAME and {PASSWORD_VARIABLE}"
                )
        if self.ssl_ca_location is not None:
            self._fill("ssl_ca_location", self.ssl_ca_location.expanduser())
            if not self.ssl_ca_location.is_file():
                raise ConfigurationError(
                    f"BANK_KAFKA_SSL_CA_LOCATION={self.ssl_ca_location} is not a readable file; "
                    "point it at the PEM file of the brokers' CA"
                )

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def is_plaintext(self) -> bool:
        return self.security_protocol == "PLAINTEXT"

    # -- librdkafka (confluent-kafka) ------------------------------------------------------------

    def librdkafka(self) -> dict[str, object]:
        """The client properties every confluent-kafka Producer, Consumer and AdminClient takes."""
        config: dict[str, object] = {"bootstrap.servers": self.bootstrap}
        if self.is_plaintext:
            return config
        config["security.protocol"] = self.security_protocol.lower()
        if self.uses_sasl:
            assert self.sasl_password is not None
            config["sasl.mechanism"] = self.sasl_mechanism
            config["sasl.username"] = self.sasl_username
            config["sasl.password"] = self.sasl_password.get_secret_value()
        if self.uses_tls:
            # "probe": librdkafka looks in the system's usual places for the public CAs.
            config["ssl.ca.location"] = str(self.ssl_ca_location or "probe")
            config["ssl.endpoint.identification.algorithm"] = "https"
        return config

    # -- aiokafka ----------------------------------------------------------------------------------

    def aiokafka(self) -> dict[str, object]:
        """Keyword arguments for AIOKafkaConsumer / AIOKafkaProducer / AIOKafkaAdminClient."""
        config: dict[str, object] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        if self.uses_sasl:
            assert self.sasl_password is not None
            config["sasl_mechanism"] = self.sasl_mechanism
            config["sasl_plain_username"] = self.sasl_username
            config["sasl_plain_password"] = self.sasl_password.get_secret_value()
        if self.uses_tls:
            config["ssl_context"] = self.ssl_context()
        return config

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the broker's certificate and host name against the CA (or the system's)."""
        cafile = str(self.ssl_ca_location) if self.ssl_ca_location else None
        return ssl.create_default_context(cafile=cafile)

    # -- Kafka's Java clients (Kafka Connect, Debezium) --------------------------------------------

    def java(self, prefix: str = "") -> dict[str, str]:
        """Properties of one Java client, each key under ``prefix``. Without the bootstrap: Connect
        and Debezium each name it under their own key. The password is the reference
        ``${env:BANK_KAFKA_SASL_PASSWORD}``, resolved by the env config provider of the worker that
        reads these (connect_properties declares it), so the JVM needs that variable."""
        if self.is_plaintext:
            return {}
        config = {"security.protocol": self.security_protocol}
        if self.uses_sasl:
            config["sasl.mechanism"] = str(self.sasl_mechanism)
            config["sasl.jaas.config"] = self._jaas_config()
        if self.uses_tls and self.ssl_ca_location is not None:
            config["ssl.truststore.type"] = "PEM"
            config["ssl.truststore.location"] = str(self.ssl_ca_location)
        return {f"{prefix}{key}": value for key, value in config.items()}

    def connect_worker(self) -> dict[str, str]:
        """The Connect worker's own clients and those it makes for connectors."""
        return {k: v for prefix in CONNECT_CLIENT_PREFIXES for k, v in self.java(prefix).items()}

    def debezium_schema_history(self) -> dict[str, str]:
        """The connector's schema-history producer and consumer (and the admin client Debezium
        builds from the producer's settings to create its topic)."""
        return {k: v for prefix in SCHEMA_HISTORY_PREFIXES for k, v in self.java(prefix).items()}

    def _jaas_config(self) -> str:
        assert self.sasl_password is not None and self.sasl_mechanism is not None
        # The provider pastes the value between the quotes as it is, and JAAS reads a quote or a
        # backslash in it as syntax: such a password would fail obscurely at the broker.
        if any(c in self.sasl_password.get_secret_value() for c in '"\\'):
            raise ConfigurationError(
                f"{PASSWORD_VARIABLE} contains a double quote or a backslash, which Kafka's Java "
                "clients (JAAS) cannot take from the environment; use a password without them"
            )
        if any(c in str(self.sasl_username) for c in '"\\'):
            raise ConfigurationError(
                "BANK_KAFKA_SASL_USERNAME contains a double quote or a backslash; JAAS cannot "
                "take it"
            )
        return (
            f'{MECHANISMS[self.sasl_mechanism]} required username="{self.sasl_username}" '
            f'password="${{env:{PASSWORD_VARIABLE}}}";'
        )


def from_environment(bootstrap: str | None = None) -> KafkaClientSettings:
    """The settings from BANK_KAFKA_*; ``bootstrap`` overrides BANK_KAFKA_BOOTSTRAP (a flag)."""
    if bootstrap:
        return KafkaClientSettings.load(bootstrap=bootstrap)
    return KafkaClientSettings.load()


def check_for_the_local_broker() -> None:
    """`make up` runs its own PLAINTEXT broker: security settings meant for a managed cluster
    would have every client knock on it with TLS and never get in. Say so before starting."""
    config = from_environment()
    if not config.is_plaintext:
        raise ConfigurationError(
            f"BANK_KAFKA_SECURITY_PROTOCOL={config.security_protocol}, but the local stack runs "
            "its own PLAINTEXT broker; unset the BANK_KAFKA_* security variables for `make up` "
            "(they point the components at a managed cluster: docs/managed-kafka.md)"
        )


def librdkafka(
    bootstrap: str | None = None, extra: Mapping[str, object] | None = None
) -> dict[str, object]:
    """A confluent-kafka client's config: the connection from the environment, then ``extra``
    (group, timeouts, ...). ``bootstrap`` overrides BANK_KAFKA_BOOTSTRAP."""
    return {**from_environment(bootstrap).librdkafka(), **(extra or {})}


def producer_config(
    bootstrap: str | None = None, extra: Mapping[str, object] | None = None
) -> dict[str, object]:
    """A confluent-kafka Producer's config: ``librdkafka`` with ``acks=all`` on top, so a record
    counts as written only once every in-sync copy has it (on a cluster, min.insync.replicas of
    them); a broker lost right after acknowledging loses nothing."""
    return {**librdkafka(bootstrap, extra), "acks": "all"}
