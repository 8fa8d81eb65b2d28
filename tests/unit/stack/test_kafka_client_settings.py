"""BANK_KAFKA_* rendered for each client library the bank runs, and the password kept out of
sight: in no repr, no log line, no file Connect reads, no connector config."""

from __future__ import annotations

import json
import logging
import ssl
from pathlib import Path

import pytest
from pydantic import SecretStr

from kernel import kafka_client
from kernel.connector import load_connector
from kernel.kafka_client import KafkaClientSettings, from_environment
from kernel.settings import ConfigurationError, settings
from soi.pipeline import PipelineConfig
from stack import processes
from stack.process import write_properties

pytestmark = pytest.mark.unit

PASSWORD = "s3cret-Pa55word-for-the-test"


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    # A real CA certificate: the aiokafka rendering loads it into an SSL context.
    from tests.support.secured_kafka import make_certificates

    ca, _ = make_certificates(tmp_path)
    return ca


@pytest.fixture
def managed(monkeypatch: pytest.MonkeyPatch, ca_file: Path) -> KafkaClientSettings:
    for name, value in {
        "BANK_KAFKA_BOOTSTRAP": "b-1.example.net:9096,b-2.example.net:9096",
        "BANK_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
        "BANK_KAFKA_SASL_USERNAME": "bank",
        "BANK_KAFKA_SASL_PASSWORD": PASSWORD,
        "BANK_KAFKA_SSL_CA_LOCATION": str(ca_file),
    }.items():
        monkeypatch.setenv(name, value)
    return from_environment()


@pytest.fixture
def plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in kafka_client.VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_unset_means_plaintext_to_the_local_broker_with_nothing_added(plaintext):
    config = from_environment()
    assert config.librdkafka() == {"bootstrap.servers": settings().kafka_bootstrap}
    assert config.aiokafka() == {
        "bootstrap_servers": settings().kafka_bootstrap,
        "security_protocol": "PLAINTEXT",
    }
    assert config.connect_worker() == {}
    assert config.debezium_schema_history() == {}


def test_librdkafka_gets_sasl_ssl_with_scram_sha_512_by_default(managed, ca_file):
    assert managed.librdkafka() == {
        "bootstrap.servers": "b-1.example.net:9096,b-2.example.net:9096",
        "security.protocol": "sasl_ssl",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "bank",
        "sasl.password": PASSWORD,
        "ssl.ca.location": str(ca_file),
        "ssl.endpoint.identification.algorithm": "https",
    }


def test_the_shared_helper_puts_the_callers_settings_on_top(managed):
    config = kafka_client.librdkafka(extra={"group.id": "g", "linger.ms": 0})
    assert config["sasl.username"] == "bank" and config["group.id"] == "g"
    assert kafka_client.librdkafka("other:9092")["bootstrap.servers"] == "other:9092"


def test_aiokafka_gets_sasl_ssl_and_a_context_that_checks_the_broker(managed, ca_file):
    config = managed.aiokafka()
    context = config.pop("ssl_context")
    assert config == {
        "bootstrap_servers": "b-1.example.net:9096,b-2.example.net:9096",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "bank",
        "sasl_plain_password": PASSWORD,
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "bank test CA"),),)]


def test_java_clients_get_a_pem_truststore_and_jaas_that_names_the_password_variable(
    managed, ca_file
):
    assert managed.java("producer.") == {
        "producer.security.protocol": "SASL_SSL",
        "producer.sasl.mechanism": "SCRAM-SHA-512",
        "producer.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            'username="bank" password="${env:BANK_KAFKA_SASL_PASSWORD}";'
        ),
        "producer.ssl.truststore.type": "PEM",
        "producer.ssl.truststore.location": str(ca_file),
    }


def test_the_connect_worker_configures_its_own_clients_and_those_it_makes(managed):
    worker = processes.connect_properties(settings())
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert worker[f"{prefix}security.protocol"] == "SASL_SSL"
        assert "${env:BANK_KAFKA_SASL_PASSWORD}" in worker[f"{prefix}sasl.jaas.config"]
    # The reference is resolved by the provider the worker declares.
    assert worker["config.providers"] == "env"
    assert "BANK_KAFKA_SASL_PASSWORD" in processes.connect(settings()).env_names


def test_the_connector_configures_debeziums_schema_history_clients(managed):
    _, config = load_connector()
    for client in ("producer", "consumer"):
        prefix = f"schema.history.internal.{client}."
        assert config[f"{prefix}security.protocol"] == "SASL_SSL"
        assert config[f"{prefix}sasl.mechanism"] == "SCRAM-SHA-512"
        assert "${env:BANK_KAFKA_SASL_PASSWORD}" in config[f"{prefix}sasl.jaas.config"]


def test_every_process_that_talks_to_kafka_is_given_the_variables(managed):
    for process in (processes.soi(settings()), processes.soe(settings())):
        assert set(kafka_client.VARIABLES) <= set(process.env_names), process.name


def test_the_password_is_in_no_repr_log_line_file_or_connector_config(managed, caplog, tmp_path):
    pipeline = PipelineConfig(
        client=managed.librdkafka(),
        input_topic="t",
        group="g",
        instance="i",
        state_topic="s",
        topics={},
    )
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("kafka %s %r %s", managed, managed, pipeline)
    shown = [repr(managed), str(managed), repr(managed.sasl_password), repr(pipeline)]
    shown.append(caplog.text)
    properties = tmp_path / "connect.properties"
    write_properties(properties, processes.connect_properties(settings()))
    shown.append(properties.read_text())
    shown.append(json.dumps(load_connector()[1]))
    shown.append(json.dumps(managed.connect_worker()))
    for text in shown:
        assert PASSWORD not in text
    assert "bank" in repr(managed)  # the rest of the settings do show, for diagnosis


@pytest.mark.parametrize(
    ("variables", "complaint"),
    [
        ({"BANK_KAFKA_SECURITY_PROTOCOL": "TLS"}, "is not one of PLAINTEXT, SSL"),
        ({"BANK_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "needs BANK_KAFKA_SASL_USERNAME"),
        (
            {
                "BANK_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "BANK_KAFKA_SASL_MECHANISM": "GSSAPI",
                "BANK_KAFKA_SASL_USERNAME": "u",
                "BANK_KAFKA_SASL_PASSWORD": "p",
            },
            "BANK_KAFKA_SASL_MECHANISM='GSSAPI' is not one of",
        ),
        (
            {"BANK_KAFKA_SECURITY_PROTOCOL": "SSL", "BANK_KAFKA_SSL_CA_LOCATION": "/nowhere.pem"},
            "BANK_KAFKA_SSL_CA_LOCATION=/nowhere.pem is not a readable file",
        ),
    ],
)
def test_wrong_settings_say_which_variable_to_fix(plaintext, monkeypatch, variables, complaint):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=complaint.replace("(", r"\(")):
        from_environment()


def test_a_password_jaas_cannot_carry_is_refused_for_the_java_clients_by_name():
    config = KafkaClientSettings(
        bootstrap="b:9096",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="bank",
        sasl_password=SecretStr('has"quote'),
    )
    assert config.librdkafka()["sasl.password"] == 'has"quote'  # librdkafka takes it as it is
    with pytest.raises(ConfigurationError, match="BANK_KAFKA_SASL_PASSWORD contains") as refused:
        config.connect_worker()
    assert 'has"quote' not in str(refused.value)


def test_tls_without_a_ca_file_trusts_the_systems_cas():
    config = KafkaClientSettings(bootstrap="b:9093", security_protocol="SSL")
    assert config.librdkafka()["ssl.ca.location"] == "probe"
    assert "ssl.truststore.location" not in config.java()
    assert config.java() == {"security.protocol": "SSL"}


def test_make_up_refuses_security_settings_its_own_plaintext_broker_cannot_serve(managed):
    with pytest.raises(ConfigurationError, match="runs its own PLAINTEXT broker"):
        kafka_client.check_for_the_local_broker()


def test_make_up_starts_with_the_variables_unset(plaintext):
    kafka_client.check_for_the_local_broker()
