import pytest

from kernel.settings import ConfigurationError, settings
from soe.config import load_config

pytestmark = pytest.mark.unit


def test_defaults_are_for_a_developers_machine(monkeypatch):
    for name in (
        "BANK_DASHBOARD_ORIGINS",
        "BANK_LIVE_TOKEN_PUBLIC_KEY",
        "BANK_SOE_SEND_QUEUE",
        "BANK_SOE_SEND_QUEUE_BYTES",
        "BANK_SOE_WS_COMPRESSION",
        "BANK_SOE_WS_IMPLEMENTATION",
        "BANK_TRUSTED_PROXIES",
    ):
        monkeypatch.delenv(name, raising=False)
    config = load_config()
    port = settings().soe_port  # the dashboard is the gateway's own page: its origin by default
    assert config.dashboard_origins == {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}
    assert config.public_key_pem is None
    assert config.public_key_file.name == "live-token-ed25519.pub.pem"
    assert (config.send_queue_size, config.send_queue_bytes) == (1024, 4 * 2**20)
    assert config.max_message_bytes == 4096
    assert config.compression is False
    assert config.ws_implementation == "websockets-sansio"
    assert config.shared_frames is True
    assert config.trusted_proxies == ()


def test_connection_and_rate_limits_come_from_the_environment(monkeypatch):
    for name, value in {
        "BANK_SOE_MAX_CONNECTIONS": "7",
        "BANK_SOE_MAX_CONNECTIONS_PER_ADDRESS": "5",
        "BANK_SOE_MAX_CONNECTIONS_PER_PRINCIPAL": "2",
        "BANK_SOE_MAX_UNAUTHENTICATED": "3",
        "BANK_SOE_CLIENT_MESSAGES_PER_SECOND": "4",
        "BANK_SOE_CLIENT_MESSAGE_BURST": "12",
        "BANK_SOE_WS_COMPRESSION": "true",
        "BANK_TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2",
    }.items():
        monkeypatch.setenv(name, value)
    config = load_config()
    assert (
        config.limits.total,
        config.limits.per_address,
        config.limits.per_principal,
        config.limits.unauthenticated,
    ) == (7, 5, 2, 3)
    assert (config.client_messages_per_second, config.client_message_burst) == (4, 12)
    assert config.compression is True
    assert config.trusted_proxies == ("10.0.0.1", "10.0.0.2")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BANK_SOE_SEND_QUEUE_BYTES", "1000"),
        ("BANK_SOE_CLIENT_MESSAGE_BURST", "5"),
        ("BANK_SOE_MAX_CONNECTIONS", "0"),
        ("BANK_SOE_WS_COMPRESSION", "maybe"),
        ("BANK_SOE_WS_IMPLEMENTATION", "tornado"),
    ],
)
def test_a_limit_that_cannot_work_is_refused_by_name(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        load_config()


def test_origins_are_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("BANK_DASHBOARD_ORIGINS", " https://bank.example/ , http://localhost:8001")
    assert load_config().dashboard_origins == {"https://bank.example", "http://localhost:8001"}


def test_a_send_queue_too_small_for_a_burst_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("BANK_SOE_SEND_QUEUE", "10")
    with pytest.raises(ConfigurationError, match="BANK_SOE_SEND_QUEUE"):
        load_config()


def test_the_gateway_reads_the_banks_topics_unless_a_namespace_is_set(monkeypatch):
    monkeypatch.delenv("BANK_TOPIC_NAMESPACE", raising=False)
    assert load_config().topics.balances == "bank.balances"
    monkeypatch.setenv("BANK_TOPIC_NAMESPACE", "test-soe-1a2b")
    assert load_config().topics.balance_changed == "test-soe-1a2b.balance-changed"


def test_a_namespace_that_cannot_name_a_topic_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("BANK_TOPIC_NAMESPACE", "bank alerts")
    with pytest.raises(ConfigurationError, match="BANK_TOPIC_NAMESPACE"):
        load_config()
