"""The faults of the replicated stages (BANK_SOE_GATEWAYS, BANK_SOI_WORKERS of 2 or more), and
the failover verdict of a gateway's: its customers are on another gateway within seconds.

With two gateways behind the balancer, a killed gateway's clients do not wait for it to come
back: they reconnect through the balancer to the other one and resume there. The drill's
watchers note how long each was away (``WatcherReport.outages``); the longest is the round's
failover time.
"""

from __future__ import annotations

from bench.chaos.faults import COMPONENTS, Fault, every_fault
from bench.chaos.watchers import WatcherReport
from kernel.settings import Settings

# "Within a few seconds": the dashboard's first reconnect waits 0.5 s, the balancer sends it to
# a gateway that answers; beyond this something waited for the killed gateway to come back.
FAILOVER_LIMIT_SECONDS = 10.0


def gateway_names(config: Settings) -> list[str]:
    return ["soe" if n == 1 else f"soe-{n}" for n in range(1, config.soe_gateways + 1)]


def worker_names(config: Settings) -> list[str]:
    return ["soi" if n == 1 else f"soi-{n}" for n in range(1, config.soi_workers + 1)]


def failover_faults(config: Settings) -> list[Fault]:
    """kill -9 of each gateway and each Faust worker, when the stack runs more than one of
    them (the others carry on), and of the balancer in front of the gateways."""
    kills = []
    if config.soi_workers > 1:
        kills += worker_names(config)
    if config.soe_gateways > 1:
        kills += [*gateway_names(config), "balancer"]
    return [Fault("kill", name) for name in kills]


def replica_faults(config: Settings) -> list[Fault]:
    """kill -9 and a freeze of each further Faust worker and gateway (soi-2 …, soe-2 …), and
    kill -9 of the balancer: the replicated stages' drills, beside the first ones' of a single
    stack."""
    return [
        fault
        for fault in every_fault(config)
        if isinstance(fault, Fault) and fault.component not in COMPONENTS
    ]


def is_gateway_failover(config: Settings, fault: Fault) -> bool:
    return config.soe_gateways > 1 and fault.component in gateway_names(config)


def failover_seconds(reports: list[WatcherReport]) -> tuple[float | None, int]:
    """The longest time a watcher was away before it was subscribed again, and how many
    connections were lost."""
    outages = [seconds for report in reports for seconds in report.outages]
    return (max(outages) if outages else None), len(outages)


def judge_failover(
    config: Settings, fault: Fault, reports: list[WatcherReport]
) -> tuple[float | None, list[str], list[str]]:
    """The round's failover time, its problems and its notes, for a gateway's fault."""
    seconds, dropped = failover_seconds(reports)
    if not is_gateway_failover(config, fault):
        return seconds, [], []
    if not dropped:
        return None, [], [f"no watcher was connected to {fault.component} when it was killed"]
    notes = [f"{dropped} connections lost; all subscribed again within {seconds} s"]
    # A frozen gateway is found out by the health checks first (seconds): only a kill is timed.
    if fault.kind == "kill" and (seconds is None or seconds > FAILOVER_LIMIT_SECONDS):
        problem = (
            f"{fault.component}'s clients took {seconds} s to be served again "
            f"(at most {FAILOVER_LIMIT_SECONDS:.0f} s with another gateway up)"
        )
        return seconds, [problem], notes
    return seconds, [], notes
