"""A Faust worker of a test's own: it reads CDC topics of its own and writes derived topics of
its own (one scratch namespace for both), so what a test feeds it never reaches the bank's
`sor.bank.money` or `bank.*`. Everything under the namespace is deleted afterwards."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from mirakuru import HTTPExecutor

from bench.children import free_port
from bench.scratch import delete_namespace
from events.topics import DerivedTopics, derived_topics
from kernel.settings import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts"


@dataclass(frozen=True)
class ScratchWorker:
    namespace: str
    cdc_money: str
    topics: DerivedTopics


@contextlib.contextmanager
def scratch_worker(bootstrap: str) -> Iterator[ScratchWorker]:
    namespace = f"test-soi-{secrets.token_hex(4)}"
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"{namespace}-worker.log"
    env = {
        **os.environ,
        "BANK_KAFKA_BOOTSTRAP": bootstrap,
        "BANK_TOPIC_NAMESPACE": namespace,
        "BANK_CDC_TOPIC_PREFIX": namespace,
    }
    command = [sys.executable, "-m", "faust", "-A", "soi.app", "worker", "--loglevel=info"]
    command += ["--web-bind=127.0.0.1", "--web-host=127.0.0.1", f"--web-port={port}"]
    with log_path.open("w") as log:
        executor = HTTPExecutor(
            command,
            url=f"http://127.0.0.1:{port}/ready/",
            status=200,
            timeout=180,
            cwd=str(REPO_ROOT),
            envvars=env,
            stdout=log,
            stderr=log,
        )
        executor.start()
        try:
            yield ScratchWorker(namespace, f"{namespace}.bank.money", derived_topics(namespace))
        finally:
            executor.stop()
            _delete_namespace(bootstrap, namespace)


def _delete_namespace(bootstrap: str, namespace: str) -> None:
    """Its topics, and the worker's consumer group, which outlives them otherwise."""
    delete_namespace(bootstrap, namespace, [f"{namespace}-derivation"])
