import pytest

from events import topics
from events.topics import derived_topics

pytestmark = pytest.mark.unit


def test_the_bank_namespace_gives_the_products_topic_names():
    bank = derived_topics()
    assert bank.names() == ("bank.balance-changed", "bank.balances", "bank.alerts", "bank.dlq")
    constants = (topics.BALANCE_CHANGED, topics.BALANCES, topics.ALERTS, topics.DEAD_LETTERS)
    assert bank.names() == constants


def test_another_namespace_prefixes_every_derived_topic_and_no_cdc_topic():
    scratch = derived_topics("test-soe-1a2b")
    assert scratch.balances == "test-soe-1a2b.balances"
    assert all(name.startswith("test-soe-1a2b.") for name in scratch.names())
    assert topics.CDC_MONEY == "sor.bank.money"


@pytest.mark.parametrize("namespace", ["", "bank alerts", "bänk", "x" * 201])
def test_a_namespace_kafka_cannot_name_a_topic_with_is_refused(namespace):
    with pytest.raises(ValueError, match="topic namespace"):
        derived_topics(namespace)
