import pytest

from soe.config import load_config
from stack.settings import ConfigurationError, settings

pytestmark = pytest.mark.unit


def test_defaults_are_for_a_developers_machine(monkeypatch):
    for name in ("BANK_DASHBOARD_ORIGINS", "BANK_LIVE_TOKEN_PUBLIC_KEY", "BANK_SOE_SEND_QUEUE"):
        monkeypatch.delenv(name, raising=False)
    config = load_config()
    port = settings().soe_port  # the dashboard is the gateway's own page: its origin by default
    assert config.dashboard_origins == {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}
    assert config.public_key_pem is None
    assert config.public_key_file.name == "live-token-ed25519.pub.pem"
    assert config.send_queue_size == 256
    assert config.max_message_bytes == 4096


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
