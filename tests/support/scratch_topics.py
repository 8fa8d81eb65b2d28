"""Derived topics of one test session alone, so test events never reach the bank's real topics.

A process under test reads them when started with BANK_TOPIC_NAMESPACE set to their namespace.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

from confluent_kafka.admin import AdminClient, NewTopic

from events import topics
from events.topics import DerivedTopics, derived_topics
from kernel.kafka_client import librdkafka
from soi.config import TOPIC_PARTITIONS, TOPIC_REPLICATION
from soi.topics import TOPIC_CONFIGS
from tests.support.registry import forget_subjects

OPERATION_TIMEOUT = 30.0


@contextlib.contextmanager
def scratch_topics(bootstrap: str, prefix: str) -> Iterator[DerivedTopics]:
    """Creates ``<prefix>-<random>.*`` like the bank's own (partitions, compaction), deletes them
    on the way out."""
    scratch = derived_topics(f"{prefix}-{secrets.token_hex(4)}")
    admin = AdminClient(librdkafka(bootstrap))
    _create_like_the_bank(admin, scratch)
    try:
        yield scratch
    finally:
        _delete(admin, list(scratch.names()))
        forget_subjects(list(scratch.names()))


def _create_like_the_bank(admin: AdminClient, scratch: DerivedTopics) -> None:
    # Each scratch topic takes the settings of the bank's topic of the same role.
    wanted = [
        NewTopic(name, TOPIC_PARTITIONS, TOPIC_REPLICATION, config=TOPIC_CONFIGS[bank_name])
        for name, bank_name in zip(scratch.names(), topics.BANK.names(), strict=True)
    ]
    futures = admin.create_topics(wanted, operation_timeout=OPERATION_TIMEOUT)
    failed = {name: future.exception() for name, future in futures.items() if future.exception()}
    if failed:
        _delete(admin, [name for name in futures if name not in failed])
        raise RuntimeError(f"could not create the scratch topics {failed}")


def _delete(admin: AdminClient, names: list[str]) -> None:
    if not names:
        return
    futures = admin.delete_topics(names, operation_timeout=OPERATION_TIMEOUT)
    failed = {name: future.exception() for name, future in futures.items() if future.exception()}
    if failed:
        raise RuntimeError(
            f"could not delete the scratch topics {failed}; they stay in the broker until "
            "deleted by hand (AdminClient.delete_topics)"
        )
