"""The faults: kill -9 of a component (the supervisor restarts it) or a freeze (SIGSTOP, then
SIGCONT). Each knows how to strike and when the component is back."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.chaos.stack_control import freeze, kill_hard, thaw, wait_restarted, wait_served
from bench.chaos.struck import Struck
from kernel.settings import Settings

if TYPE_CHECKING:
    from bench.chaos.cluster_faults import ClusterFault
from stack.supervisor import STABLE_SECONDS

COMPONENTS = ("soi", "soe", "connect", "kafka", "mariadb")
# With BANK_SOI_WORKERS=n the stack runs Faust workers soi, soi-2 … soi-n; with
# BANK_SOE_GATEWAYS=n gateways soe, soe-2 … soe-n behind the balancer; a cluster also
# kafka-2, kafka-3 and connect-2.
_REPLICA = re.compile(r"(soi|soe|kafka|connect)-[2-9]|balancer")
FREEZE_SECONDS = 10.0


@dataclass(frozen=True)
class Fault:
    kind: str  # "kill" or "freeze"
    component: str

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.component}"

    def make_ready(self, config: Settings) -> None:
        """A kill must meet a component that has served a while: the supervisor's backoff then
        starts afresh, and the drill measures one crash, not a crash loop."""
        if self.kind == "kill":
            wait_served(config, self.component, STABLE_SECONDS)

    def strike(self, config: Settings, restart_timeout: float = 180) -> Struck:
        """Injects the fault and returns when the component runs again."""
        started = time.monotonic()
        if self.kind == "kill":
            restarts = kill_hard(config, self.component)
            wait_restarted(config, self.component, restarts, restart_timeout)
        else:
            frozen = freeze(config, self.component)
            try:
                time.sleep(FREEZE_SECONDS)
            finally:
                thaw(frozen)
        return Struck(time.monotonic() - started)


def parse(name: str) -> Fault | ClusterFault:
    from bench.chaos.cluster_faults import CLUSTER_FAULTS

    if name in CLUSTER_FAULTS:
        return CLUSTER_FAULTS[name]
    kind, _, component = name.partition("-")
    known = component in COMPONENTS or _REPLICA.fullmatch(component)
    if kind not in ("kill", "freeze") or not known:
        choices = ", ".join([*(f"kill-{c}, freeze-{c}" for c in COMPONENTS), *CLUSTER_FAULTS])
        raise ValueError(f"unknown fault {name!r}; choose from {choices}")
    return Fault(kind, component)


KILLS = tuple(Fault("kill", c) for c in COMPONENTS)
FREEZES = (Fault("freeze", "soi"), Fault("freeze", "soe"))
ALL = KILLS + FREEZES


def every_fault(config: Settings) -> list[Fault | ClusterFault]:
    """Every kill and the freezes, for each Faust worker and gateway the stack runs, the kill of
    the balancer in front of the gateways, and on a cluster the faults of a replicated Kafka and
    Connect."""
    from bench.chaos.cluster_faults import BROKER_FAULTS, CLUSTER_FAULTS, KILL_CONNECT_TASK

    workers = [f"soi-{n}" for n in range(2, config.soi_workers + 1)]
    gateways = [f"soe-{n}" for n in range(2, config.soe_gateways + 1)]
    faults: list[Fault | ClusterFault] = [
        *ALL,
        *(Fault(kind, r) for r in workers + gateways for kind in ("kill", "freeze")),
    ]
    if config.soe_gateways > 1:
        faults.append(Fault("kill", "balancer"))
    if config.kafka_nodes > 1:
        faults += [CLUSTER_FAULTS[name] for name in BROKER_FAULTS]
    if config.connect_workers > 1:
        faults.append(CLUSTER_FAULTS[KILL_CONNECT_TASK])
    return faults
