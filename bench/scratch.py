"""Scratch namespaces: topics and consumer groups of the benchmark's and the tests' own workers,
waited for and deleted afterwards."""

from __future__ import annotations

import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from kernel.kafka_client import librdkafka
from kernel.wait import wait_until

TIMEOUT = 10.0


def wait_for_topic(bootstrap: str, topic: str, timeout: float) -> None:
    admin = AdminClient(librdkafka(bootstrap))
    wait_until(
        lambda: topic in admin.list_topics(timeout=TIMEOUT).topics,
        timeout=timeout,
        what=f"topic {topic} to appear",
        every=1,
    )


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
