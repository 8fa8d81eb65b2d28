"""The Faust application: `faust -A soi.app worker` runs it.

Faust owns the worker's life: start-up, the web server with its readiness page, signals, logging.
The derivation itself is a Faust service around a transactional Kafka loop (`soi.pipeline`):
Faust's per-record stream machinery costs ~80 µs of CPU per record on these machines before any
work is done (docs/performance.md), more than the whole derivation, and its exactly-once mode
has open duplicate reports; one transaction per batch gives both the rate and exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

import faust
from faust.app.base import BootStrategy
from mode import Service

from events import topics
from kernel.settings import settings
from soi.alerts import Thresholds
from soi.config import (
    APP_ID,
    DERIVATION_GROUP,
    KAFKA_BOOTSTRAP,
    STATE_TOPIC,
    TOPICS,
    kafka_client,
    worker_instance,
)
from soi.pipeline import Pipeline, PipelineConfig, topic_roles
from soi.topics import ensure_topics
from soi.upgrade import adopt_legacy_state, legacy_names
from soi.watchdog import Watchdog

log = logging.getLogger(__name__)

# The exit status of a worker stopped by a bug (EX_SOFTWARE): the supervisor restarts it, and
# the batch it failed on, never committed, is derived again by the next run.
EXIT_ON_BUG = 70


class DerivationBoot(BootStrategy):
    """The derivation brings its own Kafka clients: Faust starts no consumer or producer of its
    own, so a restarted worker waits for no group of Faust's before it is up."""

    enable_kafka = False


class WorkerApp(faust.App):
    BootStrategy = DerivationBoot


app = WorkerApp(
    APP_ID,
    broker=f"kafka://{KAFKA_BOOTSTRAP}",
    store="memory://",
    datadir=str(settings().path("data", "soi")),
)


@app.service
class Derivation(Service):
    """Runs the pipeline on a thread of its own (its Kafka calls block) for the worker's life."""

    # The one running pipeline of this process, for the readiness page.
    pipeline: Pipeline | None = None
    _thread: threading.Thread | None = None

    async def on_start(self) -> None:
        await asyncio.to_thread(ensure_topics)
        await asyncio.to_thread(
            adopt_legacy_state,
            kafka_client(),
            topics.CDC_MONEY,
            DERIVATION_GROUP,
            STATE_TOPIC,
            *legacy_names(TOPICS.namespace),
        )
        config = PipelineConfig(
            client=kafka_client(),
            input_topic=topics.CDC_MONEY,
            group=DERIVATION_GROUP,
            instance=worker_instance(app.conf.web_port),
            state_topic=STATE_TOPIC,
            topics=topic_roles(*TOPICS.names()),
        )
        self.pipeline = Derivation.pipeline = Pipeline(
            config, Thresholds.from_environment(), watchdog=Watchdog(stop_stuck_worker)
        )
        self._thread = threading.Thread(target=self._run, name="derivation", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self.pipeline is not None
        try:
            self.pipeline.run()
        except BaseException:
            # Nothing past the failing batch was committed; stopping loudly keeps a bug from
            # turning into a money movement nobody sees.
            log.critical("the derivation stopped on an error; the worker exits", exc_info=True)
            logging.shutdown()
            os._exit(EXIT_ON_BUG)

    async def on_stop(self) -> None:
        if self.pipeline is not None and self._thread is not None:
            self.pipeline.stopping.set()
            await asyncio.to_thread(self._thread.join, 30)


def stop_stuck_worker(what: str, seconds: float) -> None:
    """A Kafka call that will not return (soi/watchdog.py) holds the worker's partitions: it
    stops, and the supervisor starts it again; the new run fences what the stuck one left open."""
    log.critical(
        "%s: no answer after %.0f s, past its own timeout; the worker exits to start again",
        what,
        seconds,
    )
    logging.shutdown()
    os._exit(EXIT_ON_BUG)


@app.page("/ready/")
async def ready(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
    """Ready once the derivation has joined its group (and holds its share of the partitions)."""
    pipeline = Derivation.pipeline
    if pipeline is None or not pipeline.progress.joined:
        return web.json({"ready": False}, status=503)
    progress = pipeline.progress
    return web.json(
        {
            "ready": True,
            "partitions": list(progress.assigned),
            "records": progress.records,
            "changes": progress.changes,
            "batches": progress.batches,
            "dead_letters": progress.dead_letters,
        }
    )
