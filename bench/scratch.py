"""Scratch namespaces: topics and consumer groups of the benchmark's and the tests' own workers,
waited for and deleted afterwards."""

from __future__ import annotations

import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from stack.kafka_client import librdkafka

TIMEOUT = 10.0


def wait_for_topic(bootstrap: str, topic: str, timeout: float) -> None:
    admin = AdminClient(librdkafka(bootstrap))
    deadline = time.monotonic() + timeout
    while topic not in admin.list_topics(timeout=TIMEOUT).topics:
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {topic} did not appear within {timeout:.0f}s")
        time.sleep(1)


def delete_namespace(bootstrap: str, prefix: str, groups: list[str]) -> list[str]:
    """Deletes every topic whose name starts with `prefix`, and the consumer groups; returns the
    topics deleted. For the scratch workers of benchmarks and tests only."""
    admin = AdminClient(librdkafka(bootstrap))
    names = [t for t in admin.list_topics(timeout=TIMEOUT).topics if t.startswith(prefix)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.result()
    # A member that did not leave cleanly holds its group until its session times out.
    deadline = time.monotonic() + 60
    pending = list(groups)
    while pending:
        futures = admin.delete_consumer_groups(pending, request_timeout=TIMEOUT)
        pending = []
        for group, future in futures.items():
            try:
                future.result()
            except KafkaException as error:
                code = error.args[0].code()
                if code == KafkaError.NON_EMPTY_GROUP and time.monotonic() < deadline:
                    pending.append(group)
                elif code != KafkaError.GROUP_ID_NOT_FOUND:
                    raise
        if pending:
            time.sleep(2)
    return names
