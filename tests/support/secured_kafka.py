"""A broker of one test alone that takes only SASL_SSL with SCRAM-SHA-512, as a managed Kafka does.

Everything it needs is made at test time in a scratch folder: a CA, the broker's certificate for
127.0.0.1 signed by it, a SCRAM user written into the metadata log when the storage is formatted.
It runs from the stack's own jars with the stack's own broker settings (stack/processes.py), its
client listener swapped for SASL_SSL on a free port; stopping it leaves nothing running.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import SecretStr

from bench.children import free_port, stop
from kernel.kafka_client import KafkaClientSettings
from kernel.settings import Settings, settings
from stack import LOG4J_CONFIG, kafka_node
from stack.kafka_storage import cluster_id
from stack.process import write_properties

USERNAME = "bank-managed-test"
START_TIMEOUT = 90.0
HEAP = "384m"


@dataclass(frozen=True)
class SecuredBroker:
    client: KafkaClientSettings  # what a client of the bank is given (BANK_KAFKA_*)
    log: Path
    process: subprocess.Popen

    def environment(self) -> dict[str, str]:
        """The BANK_KAFKA_* variables pointing a process of the bank at this broker."""
        assert self.client.sasl_password is not None
        return {
            "BANK_KAFKA_BOOTSTRAP": self.client.bootstrap,
            "BANK_KAFKA_SECURITY_PROTOCOL": self.client.security_protocol,
            "BANK_KAFKA_SASL_MECHANISM": str(self.client.sasl_mechanism),
            "BANK_KAFKA_SASL_USERNAME": str(self.client.sasl_username),
            "BANK_KAFKA_SASL_PASSWORD": self.client.sasl_password.get_secret_value(),
            "BANK_KAFKA_SSL_CA_LOCATION": str(self.client.ssl_ca_location),
        }


# -- certificates ------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_certificates(folder: Path) -> tuple[Path, Path]:
    """(the CA's certificate, the broker's key and certificate chain), both PEM."""
    now = datetime.datetime.now(datetime.UTC)
    valid = {"not_valid_before": now - datetime.timedelta(minutes=5)}
    ca_key = _key()
    ca = (
        x509.CertificateBuilder(**valid, not_valid_after=now + datetime.timedelta(days=1))
        .subject_name(_name("bank test CA"))
        .issuer_name(_name("bank test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    broker_key = _key()
    broker = (
        x509.CertificateBuilder(**valid, not_valid_after=now + datetime.timedelta(days=1))
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(broker_key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(_pem_cert(ca))
    # Kafka's PEM key store: an unencrypted PKCS#8 key followed by the certificate chain.
    keystore = folder / "broker.pem"
    keystore.write_bytes(
        broker_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + _pem_cert(broker)
        + _pem_cert(ca)
    )
    keystore.chmod(0o600)
    return ca_file, keystore


# -- the broker --------------------------------------------------------------------------------


def _broker_properties(
    config: Settings, ca_file: Path, keystore: Path, password: str
) -> dict[str, object]:
    listener = f"SASL_SSL://{config.host}:{config.kafka_port}"
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{USERNAME}" password="{password}";'
    )
    return {
        **kafka_node.kafka_properties(config),
        "listeners": f"{listener},CONTROLLER://{config.host}:{config.kafka_controller_port}",
        "advertised.listeners": listener,
        "inter.broker.listener.name": "SASL_SSL",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": jaas,
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": keystore,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": ca_file,
        "ssl.client.auth": "none",
    }


def _format(config: Settings, properties: Path, password: str) -> None:
    subprocess.run(
        [
            "java",
            "-cp",
            f"{config.path('lib', 'kafka')}/*",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            cluster_id(config),
            "--config",
            str(properties),
            "--add-scram",
            f"SCRAM-SHA-512=[name={USERNAME},password={password}]",
        ],
        check=True,
        capture_output=True,
    )


def _answers(client: KafkaClientSettings) -> bool:
    admin = AdminClient({**client.librdkafka(), "log_level": 0})
    try:
        return bool(admin.list_topics(timeout=2).brokers)
    except Exception:  # KafkaException while the broker starts
        return False


@contextlib.contextmanager
def secured_broker(folder: Path) -> Iterator[SecuredBroker]:
    """Starts the broker in ``folder`` and stops it (and its JVM) on the way out."""
    stack = settings()
    config = stack.changed(
        state_dir=folder,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        kafka_heap=HEAP,
    )
    # The jars of the stack's install, not a copy.
    (folder / "lib").mkdir(parents=True, exist_ok=True)
    (folder / "lib" / "kafka").symlink_to(stack.path("lib", "kafka"))
    ca_file, keystore = make_certificates(folder / "tls")
    password = secrets.token_urlsafe(24)
    properties = folder / "config" / "kafka.properties"
    write_properties(properties, _broker_properties(config, ca_file, keystore, password))
    properties.chmod(0o600)
    _format(config, properties, password)
    client = KafkaClientSettings(
        bootstrap=f"{config.host}:{config.kafka_port}",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username=USERNAME,
        sasl_password=SecretStr(password),
        ssl_ca_location=ca_file,
    )
    log = folder / "kafka.log"
    command = kafka_node.kafka(config).command
    with log.open("w") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(client):
            if process.poll() is not None:
                raise RuntimeError(f"the SASL_SSL broker exited; see {log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the SASL_SSL broker did not answer in time; see {log}")
            time.sleep(0.5)
        yield SecuredBroker(client, log, process)
    finally:
        stop(process, 30)
