"""Offsets asked while a partition's leader moves (a cluster's broker restarting, the preferred
leader taking its partitions back): asked again, not a failed `bankctl lag` or benchmark."""

from concurrent.futures import Future

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import OffsetSpec

from ops import kafka as ops_kafka
from ops.errors import OpsError
from ops.kafka import Kafka

pytestmark = pytest.mark.unit


class Offset:
    def __init__(self, offset: int) -> None:
        self.offset = offset


class Admin:
    """Answers each list_offsets with the next of `answers`: an offset or a broker's error."""

    def __init__(self, answers: list[int | KafkaError]) -> None:
        self.answers, self.asked = answers, 0

    def list_offsets(self, request: dict, request_timeout: float) -> dict:
        answer = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        futures = {}
        for partition in request:
            future: Future = Future()
            if isinstance(answer, KafkaError):
                future.set_exception(KafkaException(answer))
            else:
                future.set_result(Offset(answer))
            futures[partition] = future
        return futures


def kafka_answering(answers: list[int | KafkaError], timeout: float = 5.0) -> Kafka:
    kafka = Kafka("127.0.0.1:1")
    kafka.timeout = timeout
    kafka.__dict__["metadata"] = object()  # the cluster answered its metadata
    kafka.admin = Admin(answers)
    return kafka


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    monkeypatch.setattr(ops_kafka, "LEADER_MOVED_PAUSE_SECONDS", 0.0, raising=False)


def test_a_moved_leader_is_asked_again():
    moved = KafkaError(KafkaError.FENCED_LEADER_EPOCH)
    kafka = kafka_answering([moved, KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION), 42])
    assert kafka._list_offsets({("sor.bank.money", 0): OffsetSpec.latest()}) == {
        ("sor.bank.money", 0): 42
    }
    assert kafka.admin.asked == 3


def test_another_error_is_reported_at_once():
    kafka = kafka_answering([KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED), 42])
    with pytest.raises(OpsError, match="could not list offsets"):
        kafka._list_offsets({("sor.bank.money", 0): OffsetSpec.latest()})
    assert kafka.admin.asked == 1


def test_a_leader_that_never_settles_is_reported_after_the_timeout():
    kafka = kafka_answering([KafkaError(KafkaError.FENCED_LEADER_EPOCH)], timeout=0.05)
    with pytest.raises(OpsError, match="Leader epoch is older"):
        kafka._list_offsets({("sor.bank.money", 0): OffsetSpec.latest()})
