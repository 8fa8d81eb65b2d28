"""A consumer error that leaves the consumer unusable stops the worker (the supervisor starts it
again); a passing one is logged and the worker goes on."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from soi.pipeline import ends_the_consumer

pytestmark = pytest.mark.unit


def test_a_fatal_event_ends_the_consumer_even_without_its_fatal_flag():
    # What librdkafka delivered when a static member was fenced after the coordinator moved.
    assert ends_the_consumer(KafkaError(KafkaError._FATAL, "Static consumer fenced"))
    assert ends_the_consumer(KafkaError(KafkaError._FENCED, "fenced", fatal=True))


def test_a_passing_error_does_not():
    assert not ends_the_consumer(KafkaError(KafkaError._TRANSPORT, "broker down"))
    assert not ends_the_consumer(KafkaError(KafkaError._PARTITION_EOF))
