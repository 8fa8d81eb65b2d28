"""How fast fresh Faust workers derive a backlog: workers of a scratch namespace (their own
consumer group, their own output topics, deleted afterwards) derive `sor.bank.money` from its
first record, with no booking or capture in front of them. The running stack is not disturbed,
apart from sharing the CPU. `python -m bench derivation --burst 0` runs it alone."""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

from bench.children import free_port, stop
from bench.footprint import CpuSampler
from bench.scratch import delete_namespace, wait_for_topic
from events.topics import derived_topics
from kernel.settings import REPO_ROOT, Settings
from ops.topic_reader import read_events
from stack import processes


def worker_command(config: Settings, web_port: int) -> list[str]:
    """The stack's own Faust worker command (stack/processes.py), on another web port."""
    return [
        f"--web-port={web_port}" if arg.startswith("--web-port=") else arg
        for arg in processes.soi(config).command
    ]


@dataclass
class _Worker:
    process: subprocess.Popen
    log_path: str

    def exited(self) -> bool:
        return self.process.poll() is not None

    def log_tail(self) -> str:
        with open(self.log_path, errors="replace") as log:
            return log.read()[-2000:]

    def stop(self) -> None:
        stop(self.process)


def _start(config: Settings, env: dict[str, str], state: str, n: int) -> _Worker:
    log_path = os.path.join(state, f"worker-{n}.log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            worker_command(config, free_port()), cwd=REPO_ROOT, env=env, stdout=log, stderr=log
        )
    return _Worker(process, log_path)


def rate(epoch_ms: list[float], count: int) -> float:
    """`count` events over the span of their time stamps, per second."""
    span = (max(epoch_ms) - min(epoch_ms)) / 1000 if epoch_ms else 0
    return count / span if span > 0 else 0.0


def replay(config: Settings, wanted: int, workers: int) -> dict[str, Any]:
    """`workers` fresh workers (one group, one scratch namespace) derive `sor.bank.money` from
    its beginning until `wanted` events are out (or nothing new came for 10 s); returns the rate,
    the workers' CPU per event and the scratch topics deleted."""
    bootstrap = config.kafka_bootstrap
    namespace = f"bench-{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="bench-soi-") as state:
        os.makedirs(os.path.join(state, "data"))  # Faust makes only the last level of its datadir
        env = {**os.environ, "BANK_TOPIC_NAMESPACE": namespace, "BANK_STATE_DIR": state}
        started = [_start(config, env, state, n) for n in range(workers)]
        cpu = [CpuSampler(worker.process.pid) for worker in started]
        for sampler in cpu:
            sampler.start()
        try:
            topic = derived_topics(namespace).balance_changed
            wait_for_topic(bootstrap, topic, 120)
            events = read_events(
                bootstrap,
                topic,
                None,
                lambda e: True,
                wanted,
                600,
                10,
                lambda: any(worker.exited() for worker in started),
            )
            for worker in started:
                if worker.exited():
                    raise RuntimeError(f"a scratch Faust worker exited early:\n{worker.log_tail()}")
        finally:
            for sampler in cpu:
                sampler.stop()
            for worker in started:
                worker.stop()
            deleted = delete_namespace(
                bootstrap, namespace, [f"{namespace}-soi", f"{namespace}-derivation"]
            )
    derived_at = [e["derived_at"] for e in events]
    window = (min(derived_at) / 1000, max(derived_at) / 1000) if events else None
    used = [sampler.between(*window) for sampler in cpu] if window else [None]
    seconds = None if None in used else sum(used)
    return {
        "namespace": namespace,
        "workers": workers,
        "events": len(events),
        "derive_rate": rate(derived_at, len(events)),
        "cpu_seconds": seconds,
        "cpu_us_per_event": seconds / len(events) * 1e6 if seconds and events else None,
        "scratch_topics_deleted": deleted,
    }
