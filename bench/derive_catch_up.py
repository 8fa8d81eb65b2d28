"""How fast one Faust worker derives: a second worker, on a scratch namespace, derives the whole
money stream from its first record, and we time how long it takes to catch up.

    python -m bench.derive_catch_up          # prints records/s and writes bench/results/

It reads the real `sor.bank.money` but writes only to `<scratch>.*` topics (deleted afterwards)
with its own consumer group, so the running stack is not disturbed (apart from sharing the CPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from events.topics import CDC_MONEY, derived_topics
from kernel.kafka_client import librdkafka
from kernel.settings import REPO_ROOT, settings

RESULTS = REPO_ROOT / "bench" / "results"


def _records(consumer: Consumer, topic: str) -> int:
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    total = 0
    for p in partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        total += high - low
    return total


def _lag(consumer: Consumer, group: str, topic: str) -> int | None:
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    admin = AdminClient(librdkafka())
    request = [TopicPartition(topic, p) for p in partitions]
    from confluent_kafka import ConsumerGroupTopicPartitions

    future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group, request)])
    committed = {tp.partition: tp.offset for tp in future[group].result().topic_partitions}
    if any(offset < 0 for offset in committed.values()):
        return None
    return sum(
        consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] - committed[p]
        for p in partitions
    )


def main() -> int:
    config = settings()
    namespace = f"bench-derive-{uuid.uuid4().hex[:8]}"
    topics = derived_topics(namespace)
    group = f"{namespace}-derivation"
    consumer = Consumer(librdkafka(config.kafka_bootstrap, {"group.id": "bench-derive"}))
    inputs = _records(consumer, CDC_MONEY)
    log_path = RESULTS / f"{namespace}-worker.log"
    RESULTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BANK_TOPIC_NAMESPACE": namespace}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "faust",
            "-A",
            "soi.app",
            "worker",
            "--loglevel=info",  # warn turns on a spinner that logs at DEBUG
            "--web-bind=127.0.0.1",
            "--web-host=127.0.0.1",
            "--web-port=6099",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )
    started = time.monotonic()
    first_output = caught_up = None
    try:
        while time.monotonic() - started < 900:
            time.sleep(0.5)
            try:
                produced = _records(consumer, topics.balances)
            except Exception:
                continue  # topics not created yet
            if produced and first_output is None:
                first_output = time.monotonic()
            lag = _lag(consumer, group, CDC_MONEY)
            print(f"\r{time.monotonic() - started:6.1f}s  lag {lag}  outputs {produced}", end="")
            if lag == 0:
                caught_up = time.monotonic()
                break
    finally:
        worker.terminate()
        worker.wait(30)
        outputs = {t: _records(consumer, t) for t in topics.names()}
        AdminClient(librdkafka(config.kafka_bootstrap)).delete_topics(
            [*topics.names(), f"{group}-state", f"{namespace}-soi-__assignor-__leader"]
        )
    print()
    if caught_up is None or first_output is None:
        print("the worker did not catch up within 15 minutes")
        return 1
    seconds = caught_up - first_output
    result = {
        "input_records": inputs,
        "outputs": outputs,
        "seconds_from_first_output_to_caught_up": round(seconds, 2),
        "records_per_second": round(inputs / seconds),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    path = RESULTS / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-derive.json"
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"written to {Path(path).relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
