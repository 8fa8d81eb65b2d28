"""The faults of a replicated stack (BANK_TOPOLOGY=cluster): a broker killed, all three restarted
one after the other, a broker frozen, and the Connect worker running the CDC task killed.

Each picks its target when it strikes: the broker leading the most partitions (so the most
leaders move), the worker that runs the task at that moment. A broker fault is over once every
partition has every copy in sync again; the Connect fault once the task runs again, and it is a
problem if it did not run on the surviving worker while its own was down.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from bench.chaos import cluster
from bench.chaos.stack_control import (
    component,
    freeze,
    kill_hard,
    thaw,
    wait_restarted,
    wait_served,
)
from bench.chaos.struck import Struck
from kernel.settings import Settings
from stack.supervisor import STABLE_SECONDS

KILL_BROKER = "kill-broker"
RESTART_BROKERS = "restart-brokers"
FREEZE_BROKER = "freeze-broker"
KILL_CONNECT_TASK = "kill-connect-task"
BROKER_FAULTS = (KILL_BROKER, RESTART_BROKERS, FREEZE_BROKER)
BROKER_FREEZE_SECONDS = 20.0


@dataclass(frozen=True)
class ClusterFault:
    name: str

    @property
    def component(self) -> str:
        """What it strikes, in words (the exact process is chosen when it strikes)."""
        return {
            KILL_BROKER: "the busiest broker",
            RESTART_BROKERS: "every broker",
            FREEZE_BROKER: "the busiest broker",
            KILL_CONNECT_TASK: "the Connect worker running the task",
        }[self.name]

    def make_ready(self, config: Settings) -> None:
        """A kill meets processes that have served a while (the supervisor's backoff starts
        afresh); a restart or a freeze needs only every copy in sync."""
        if self.name == KILL_BROKER:
            for name in cluster.broker_components(config):
                wait_served(config, name, STABLE_SECONDS)
        elif self.name == KILL_CONNECT_TASK:
            for name in cluster.connect_components(config):
                wait_served(config, name, STABLE_SECONDS)
        if self.name in BROKER_FAULTS:
            cluster.wait_in_sync(config, timeout=120)

    def strike(self, config: Settings, restart_timeout: float = 180) -> Struck:
        strikes = {
            KILL_BROKER: _kill_broker,
            RESTART_BROKERS: _restart_brokers,
            FREEZE_BROKER: _freeze_broker,
            KILL_CONNECT_TASK: _kill_connect_task,
        }
        return strikes[self.name](config, restart_timeout)


def _kill_broker(config: Settings, timeout: float) -> Struck:
    started, target = time.monotonic(), cluster.busiest_broker(config)
    restarts = kill_hard(config, target)
    wait_restarted(config, target, restarts, timeout)
    back = time.monotonic() - started
    cluster.wait_in_sync(config, timeout)
    return Struck(
        time.monotonic() - started,
        notes=[f"killed {target}: back in {back:.1f} s, every copy in sync after"],
    )


def _restart_brokers(config: Settings, timeout: float) -> Struck:
    """SIGTERM to each broker in turn (a clean shutdown hands its leaders over), the supervisor
    starts it again; the next goes once every copy is back in sync."""
    started, notes = time.monotonic(), []
    for name in cluster.broker_components(config):
        began = time.monotonic()
        restarts = component(config, name)["restarts"]
        os.killpg(component(config, name)["pid"], signal.SIGTERM)
        wait_restarted(config, name, restarts, timeout)
        cluster.wait_in_sync(config, timeout)
        notes.append(f"{name} restarted and in sync in {time.monotonic() - began:.1f} s")
    return Struck(time.monotonic() - started, notes=notes)


def _freeze_broker(config: Settings, timeout: float) -> Struck:
    started, target = time.monotonic(), cluster.busiest_broker(config)
    group = freeze(config, target)
    try:
        time.sleep(BROKER_FREEZE_SECONDS)
    finally:
        thaw(group)
    cluster.wait_in_sync(config, timeout)
    return Struck(
        time.monotonic() - started,
        notes=[
            f"froze {target} for {BROKER_FREEZE_SECONDS:.0f} s; every copy in sync "
            f"{time.monotonic() - started - BROKER_FREEZE_SECONDS:.1f} s after the thaw"
        ],
    )


def _kill_connect_task(config: Settings, timeout: float) -> Struck:
    task = cluster.connector_task(config)
    if task is None or task[0] != "RUNNING":
        return Struck(0.0, problems=[f"the connector's task was not running before: {task}"])
    target = task[1]
    started = time.monotonic()
    restarts = kill_hard(config, target)
    moved_to, running_at = None, None
    deadline = started + timeout
    while time.monotonic() < deadline and running_at is None:
        now = cluster.connector_task(config)
        if now is not None and now[0] == "RUNNING" and now[1] != target:
            moved_to, running_at = now[1], time.monotonic()
        elif now is not None and now[0] == "RUNNING" and _restarted(config, target, restarts):
            running_at = time.monotonic()  # back on its own worker, restarted first
        time.sleep(0.5)
    wait_restarted(config, target, restarts, timeout)
    if running_at is None:
        return Struck(
            time.monotonic() - started,
            problems=[f"the task did not run again within {timeout:.0f}s of killing {target}"],
        )
    seconds = running_at - started
    if moved_to is None:
        return Struck(
            seconds,
            problems=[
                f"the task did not move off the killed {target}: it ran again only once "
                f"{target} was back"
            ],
        )
    return Struck(
        seconds, notes=[f"killed {target}; the task ran on {moved_to} {seconds:.1f} s on"]
    )


def _restarted(config: Settings, name: str, restarts_before: int) -> bool:
    now = component(config, name)
    return now["restarts"] > restarts_before and now["state"] == "ready"


CLUSTER_FAULTS = {
    name: ClusterFault(name)
    for name in (KILL_BROKER, RESTART_BROKERS, FREEZE_BROKER, KILL_CONNECT_TASK)
}
