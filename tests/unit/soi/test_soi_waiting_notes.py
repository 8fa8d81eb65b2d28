"""A worker waiting for its group to give it partitions says so every 10 s: its log keeps
growing, so the supervisor waits for it past its start timeout (stack/supervisor.py) instead of
killing it, and no topology needs a longer start timeout for its workers."""

from __future__ import annotations

import logging

import pytest

from bench.children import free_port
from soi import pipeline
from soi.alerts import Thresholds
from soi.pipeline import Pipeline, PipelineConfig
from stack.supervisor import START_SILENCE_SECONDS

pytestmark = pytest.mark.unit


@pytest.fixture
def waiting_worker():
    config = PipelineConfig(
        client={"bootstrap.servers": f"127.0.0.1:{free_port()}"},  # no broker: never joins
        input_topic="sor.bank.money",
        group="bank-derivation",
        instance="bank-derivation-test",
        state_topic="bank-derivation-state",
        topics={},
    )
    worker = Pipeline(config, Thresholds.from_environment())
    yield worker
    worker._consumer.close()


def test_a_worker_waiting_for_its_partitions_says_so_every_10_seconds(waiting_worker, caplog):
    started = waiting_worker.progress.started_at
    every = pipeline.WAITING_NOTE_SECONDS
    with caplog.at_level(logging.INFO, logger="soi.pipeline"):
        for seconds in (1, every - 1, every, every + 5, 2 * every, 2 * every + 1):
            waiting_worker.note_waiting(started + seconds)
    notes = [r.getMessage() for r in caplog.records]
    assert notes == [
        f"waiting {every:.0f} s so far for group bank-derivation to give this worker partitions "
        "of sor.bank.money (finding the group's coordinator, or a rebalance)",
        f"waiting {2 * every:.0f} s so far for group bank-derivation to give this worker "
        "partitions of sor.bank.money (finding the group's coordinator, or a rebalance)",
    ]
    # Often enough for the supervisor, which gives up on a log silent for a minute.
    assert every < START_SILENCE_SECONDS / 2
