"""The derivation loop against the real broker, on scratch topics: its input is a topic of its
own, so the records these tests plant never reach the bank's CDC or derived topics."""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from events.position import SourcePosition
from events.topics import DerivedTopics
from kernel.kafka_client import librdkafka, producer_config
from kernel.settings import Settings
from kernel.wait import wait_until
from ops.topic_reader import read
from soi import derivation
from soi.accounts import AccountMemory
from soi.alerts import PerCurrency, Thresholds
from soi.config import TOPIC_PARTITIONS
from soi.pipeline import Pipeline, PipelineConfig, topic_roles
from soi.topics import TOPIC_CONFIGS
from soi.upgrade import adopt_legacy_state, legacy_names
from tests.support.cdc_envelopes import account, envelope, ledger_entry
from tests.support.scratch_topics import scratch_topics

pytestmark = pytest.mark.integration

THRESHOLDS = Thresholds(PerCurrency.parse("low", "0"), PerCurrency.parse("large", "10000000000"))
PARTITION = 3  # every record of the account below goes here, as the connector would send it


@dataclass
class Scratch:
    config: Settings
    topics: DerivedTopics
    pipeline: PipelineConfig

    def plant(self, values: list[bytes]) -> None:
        producer = Producer(producer_config(self.config.kafka_bootstrap))
        for value in values:
            producer.produce(self.pipeline.input_topic, value, b'{"account_id":7}', PARTITION)
        assert producer.flush(10) == 0

    def committed(self) -> int:
        consumer = Consumer(
            librdkafka(self.config.kafka_bootstrap, {"group.id": self.pipeline.group})
        )
        try:
            [tp] = consumer.committed([TopicPartition(self.pipeline.input_topic, PARTITION)], 10)
            return tp.offset
        finally:
            consumer.close()

    def events(self) -> list[dict]:
        records = read(self.config.kafka_bootstrap, self.topics.balance_changed)
        return [r.value for r in records]


@pytest.fixture
def scratch(running_stack: Settings) -> Iterator[Scratch]:
    bootstrap = running_stack.kafka_bootstrap
    with scratch_topics(bootstrap, "pipeline") as topics:
        names = [f"{topics.namespace}-money", f"{topics.namespace}-derivation-state"]
        admin = AdminClient(librdkafka(bootstrap))
        configs = [TOPIC_CONFIGS["sor.bank.money"], {"cleanup.policy": "compact"}]
        futures = admin.create_topics(
            [
                NewTopic(n, TOPIC_PARTITIONS, 1, config=c)
                for n, c in zip(names, configs, strict=True)
            ]
        )
        for future in futures.values():
            future.result()
        try:
            yield Scratch(
                running_stack,
                topics,
                PipelineConfig(
                    client=librdkafka(bootstrap),
                    input_topic=names[0],
                    group=f"{topics.namespace}-derivation",
                    instance=f"{topics.namespace}-{secrets.token_hex(2)}",
                    state_topic=names[1],
                    topics=topic_roles(*topics.names()),
                ),
            )
        finally:
            for future in admin.delete_topics(names).values():
                future.result()


@contextlib.contextmanager
def running(config: PipelineConfig) -> Iterator[tuple[Pipeline, list[BaseException]]]:
    """The pipeline on a thread, as the worker runs it; stopped on the way out."""
    pipeline = Pipeline(config, THRESHOLDS)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            pipeline.run()
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield pipeline, failures
    finally:
        pipeline.stopping.set()
        thread.join(30)


def booking(amount: int, old: int, pos: int, entry_id: int) -> list[bytes]:
    gtid = f"0-1-{pos}"
    return [
        envelope(
            "c",
            None,
            ledger_entry(amount, old + amount, id=entry_id),
            pos=pos,
            table="ledger_entry",
            gtid=gtid,
        ),
        envelope("u", account(old), account(old + amount), pos=pos + 1, gtid=gtid),
    ]


def opened(balance: int) -> bytes:
    return envelope("c", None, account(balance), pos=100)


def wait_for(condition: Callable[[], bool], failures: list[BaseException]) -> None:
    wait_until(lambda: condition() or bool(failures), timeout=60, what="the pipeline")
    assert not failures, failures


def test_records_that_break_the_contract_are_dead_letters_and_the_rest_is_derived(scratch):
    scratch.plant([opened(1000), b"not json", *booking(100, 1000, 200, 1)])

    with running(scratch.pipeline) as (pipeline, failures):
        wait_for(lambda: pipeline.progress.records == 4, failures)

    [dead] = [r.value for r in read(scratch.config.kafka_bootstrap, scratch.topics.dead_letters)]
    assert (dead["offset"], dead["value"]) == (1, b"not json")
    assert [(e["new_balance"], e["sequence"]) for e in scratch.events()] == [(1000, 1), (1100, 2)]
    assert scratch.committed() == 4


def test_a_restarted_pipeline_goes_on_from_its_state_and_repeats_nothing(scratch):
    scratch.plant([opened(1000), *booking(100, 1000, 200, 1)])
    with running(scratch.pipeline) as (pipeline, failures):
        wait_for(lambda: pipeline.progress.records == 3, failures)

    scratch.plant(booking(-50, 1100, 300, 2))
    with running(scratch.pipeline) as (pipeline, failures):
        wait_for(lambda: pipeline.progress.records == 2, failures)

    events = scratch.events()
    assert [(e["new_balance"], e["sequence"]) for e in events] == [(1000, 1), (1100, 2), (1050, 3)]
    assert len({e["event_id"] for e in events}) == 3


def test_a_bug_stops_the_pipeline_without_committing_its_batch(scratch, monkeypatch):
    scratch.plant([opened(1000)])
    with running(scratch.pipeline) as (pipeline, failures):
        wait_for(lambda: pipeline.progress.records == 1, failures)

    real = derivation.derive_batch

    def broken(records, *args, **kwargs):
        if any(r.offset == 2 for r in records):
            raise KeyError("a bug in the derivation")
        return real(records, *args, **kwargs)

    monkeypatch.setattr("soi.pipeline.derive_batch", broken)
    scratch.plant(booking(100, 1000, 200, 1))
    with running(scratch.pipeline) as (_pipeline, failures):
        wait_until(lambda: bool(failures), timeout=60, what="the pipeline to stop on the bug")
    assert isinstance(failures[0], KeyError)
    assert scratch.committed() <= 2, "committed past the record the bug stopped at"
    assert [e["sequence"] for e in scratch.events()] == [1]

    monkeypatch.setattr("soi.pipeline.derive_batch", real)  # the fix, deployed
    with running(scratch.pipeline) as (pipeline, failures):
        wait_for(lambda: scratch.committed() == 3, failures)
    assert [(e["new_balance"], e["sequence"]) for e in scratch.events()] == [(1000, 1), (1100, 2)]


def test_an_upgraded_stack_takes_over_the_faust_table_workers_memory_and_progress(scratch):
    """The worker of earlier releases derived the first booking (sequence 2, balance 1100) and
    committed its offsets; the upgraded worker goes on from there instead of deriving again."""
    bootstrap = scratch.config.kafka_bootstrap
    legacy_group, changelog = legacy_names(scratch.topics.namespace)
    admin = AdminClient(librdkafka(bootstrap))
    admin.create_topics([NewTopic(changelog, TOPIC_PARTITIONS, 1)])[changelog].result()
    try:
        scratch.plant([opened(1000), *booking(100, 1000, 200, 1), *booking(-50, 1100, 300, 2)])
        remembered = AccountMemory(SourcePosition("bank-bin.000002", 201, 0), 2, 1100)
        producer = Producer(producer_config(bootstrap))
        producer.produce(changelog, orjson.dumps(remembered.to_json()), b'"7"', PARTITION)
        assert producer.flush(10) == 0
        old = Consumer(librdkafka(bootstrap, {"group.id": legacy_group}))
        old.commit(
            offsets=[TopicPartition(scratch.pipeline.input_topic, PARTITION, 3)], asynchronous=False
        )
        old.close()

        config = scratch.pipeline
        adopted = adopt_legacy_state(
            config.client,
            config.input_topic,
            config.group,
            config.state_topic,
            legacy_group,
            changelog,
        )
        assert adopted
        with running(config) as (pipeline, failures):
            wait_for(lambda: pipeline.progress.records == 2, failures)
        assert [(e["new_balance"], e["sequence"]) for e in scratch.events()] == [(1050, 3)]
        # Once the derivation has committed, there is nothing to take over any more.
        assert not adopt_legacy_state(
            config.client,
            config.input_topic,
            config.group,
            config.state_topic,
            legacy_group,
            changelog,
        )
    finally:
        admin.delete_topics([changelog])[changelog].result()
