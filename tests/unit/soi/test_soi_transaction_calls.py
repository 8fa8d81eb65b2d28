"""Every call the worker makes to Kafka's transaction coordinator is bounded: a broker failing
over is waited out; a call that never succeeds stops the worker, not holding its partitions."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from soi import pipeline

pytestmark = pytest.mark.unit


def _timed_out() -> KafkaException:
    return KafkaException(KafkaError(KafkaError._TIMED_OUT, "coordinator moving", retriable=True))


def test_each_call_is_given_a_timeout_and_a_timed_out_one_is_asked_again():
    timeouts: list[float] = []

    def commit(timeout: float) -> None:
        timeouts.append(timeout)
        if len(timeouts) < 3:
            raise _timed_out()

    pipeline.retrying("committing the batch", commit)
    assert timeouts == [pipeline.TRANSACTION_CALL_SECONDS] * 3


def test_a_call_that_keeps_timing_out_stops_the_worker(monkeypatch):
    monkeypatch.setattr(pipeline, "TRANSACTION_GIVE_UP_SECONDS", 0.05)
    calls = []

    def abort(timeout: float) -> None:
        calls.append(timeout)
        raise _timed_out()

    with pytest.raises(pipeline.TransactionStuck, match="aborting the batch"):
        pipeline.retrying("aborting the batch", abort)
    assert len(calls) >= 1


def test_an_error_that_cannot_be_retried_is_raised_at_once():
    fenced = KafkaException(KafkaError(KafkaError._FENCED, "fenced", fatal=True))
    calls = []

    def commit(timeout: float) -> None:
        calls.append(timeout)
        raise fenced

    with pytest.raises(KafkaException):
        pipeline.retrying("committing the batch", commit)
    assert len(calls) == 1
