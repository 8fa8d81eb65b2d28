"""A worker taking a partition reads the state topic to its end *including* a transaction whose
commit is not yet visible (the previous owner's last batch): it waits for it instead of stopping
at the last stable offset and starting without that batch's memory (found on a cluster, where
commit markers wait for two copies: the accounts of that batch were "unknown" to the new owner).
"""

from __future__ import annotations

import secrets
import threading
import time

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kernel.kafka_client import librdkafka, producer_config
from soi.accounts import AccountMemory
from soi.config import TOPIC_REPLICATION
from soi.state import StateTopic, encode

pytestmark = pytest.mark.integration


@pytest.fixture
def state_topic(running_stack):
    admin = AdminClient(librdkafka())
    name = f"tests-state-{secrets.token_hex(4)}"
    config = {"cleanup.policy": "compact"}
    admin.create_topics([NewTopic(name, 1, TOPIC_REPLICATION, config=config)])[name].result(30)
    yield name
    admin.delete_topics([name])[name].result(30)


def test_a_state_load_waits_for_an_open_transaction_and_reads_what_it_commits(state_topic):
    memory = AccountMemory(position=None, sequence=7, balance=1234, waiting=())
    producer = Producer(producer_config(extra={"transactional.id": state_topic}))
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(state_topic, encode(memory), b"7", partition=0)
    assert producer.flush(30) == 0  # written, not committed: the end is past it, the LSO is not

    loaded: dict = {}
    loading = threading.Thread(
        target=lambda: loaded.update(StateTopic(librdkafka(), state_topic).load([0]))
    )
    loading.start()
    time.sleep(3)
    assert loading.is_alive(), "the load ended before the open transaction was decided"

    producer.commit_transaction(30)
    loading.join(30)
    assert not loading.is_alive()
    assert loaded[0]["7"].sequence == 7 and loaded[0]["7"].balance == 1234
