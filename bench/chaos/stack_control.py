"""Crashing or freezing a component of the running stack, and waiting for it to serve again."""

from __future__ import annotations

import signal
import time

import httpx

from kernel.connector import load_connector
from kernel.settings import Settings
from kernel.wait import poll, wait_until
from ops.connector import Connect, running
from ops.errors import OpsError
from stack import pids, status


def component(config: Settings, name: str) -> dict:
    current = status.read(config)
    assert current and name in current["components"], f"no component {name} in the stack"
    return current["components"][name]


def _signal_group(current: dict, signum: int) -> None:
    """Signals the component's process group, when its leader is still the process the status
    names (stack/pids.py): never a process that was given its pid since."""
    if not pids.send(current["pid"], current.get("pid_started"), signum, group=True):
        raise ProcessLookupError(
            f"{current['name']} (pid {current['pid']}) is not the process the status names"
        )


def kill_hard(config: Settings, name: str) -> int:
    """kill -9 the component's process group; returns the restart count before the kill."""
    before = component(config, name)
    _signal_group(before, signal.SIGKILL)
    return before["restarts"]


def freeze(config: Settings, name: str) -> dict:
    """SIGSTOP the component's process group: alive to the supervisor, deaf to everyone else.
    Returns what `thaw` needs."""
    frozen = component(config, name)
    _signal_group(frozen, signal.SIGSTOP)
    return frozen


def thaw(frozen: dict) -> None:
    _signal_group(frozen, signal.SIGCONT)


def wait_restarted(config: Settings, name: str, restarts_before: int, timeout: float = 180) -> None:
    def restarted() -> bool:
        now = component(config, name)
        return now["restarts"] > restarts_before and now["state"] == "ready"

    wait_until(restarted, timeout=timeout, what=f"{name} to be restarted and ready", every=0.5)


def wait_served(config: Settings, name: str, seconds: float, timeout: float = 180) -> None:
    """Waits until the component has been ready for `seconds` (not at all when it has)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = component(config, name)
        served = time.time() - now["since"] if now["state"] == "ready" else 0.0
        if served >= seconds:
            return
        time.sleep(min(1.0, seconds - served) if served else 1.0)
    raise TimeoutError(f"{name} was not ready for {seconds:.0f}s in a row within {timeout:.0f}s")


def unhealthy(config: Settings) -> dict[str, str]:
    """What keeps the stack from serving, by component: a process not ready, the CDC connector
    or its task not RUNNING, the Faust worker not ready, the gateway's Kafka feed not following.
    Empty when all is well."""
    current = status.read(config)
    if not current:
        return {"stack": f"no status file in {config.path('run')}: is the stack up?"}
    problems = {
        name: f"{name} is {c['state']}"
        for name, c in current["components"].items()
        if c["state"] != "ready"
    }
    name, _ = load_connector()
    try:
        connector = Connect(config.connect_url, timeout=10).status(name)
        if not connector.tasks or not running(connector):
            states = [connector.state, *(t.state for t in connector.tasks)]
            problems.setdefault("connector", f"connector {name} is {'/'.join(states)}")
    except OpsError as error:
        problems.setdefault("connector", error.what)
    soi_ready = f"http://{config.host}:{config.soi_web_port}/ready/"
    if not _answers_ready(soi_ready):
        problems.setdefault("soi", f"{soi_ready} is not ready")
    if config.kafka_nodes > 1:
        # A restarted broker is back once its copies have caught up, not when its port opens.
        from bench.chaos.cluster import short_of_copies

        try:
            short = short_of_copies(config)
        except Exception as error:  # metadata not readable while a broker restarts
            short = [str(error)]
        if short:
            problems.setdefault("copies", f"{len(short)} partitions short of copies: {short[:3]}")
    for gateway in range(1, config.soe_gateways + 1):
        name = "soe" if gateway == 1 else f"soe-{gateway}"
        feed = _gateway_feed(f"http://{config.host}:{config.gateway_port(gateway)}")
        if feed != "following":
            # /ready stays 200 once caught up: only the feed's state tells a dead consumer apart.
            problems.setdefault(name, f"the gateway's Kafka feed is {feed!r}, not following")
    return problems


def _answers_ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _gateway_feed(url: str) -> str:
    try:
        return httpx.get(f"{url}/ready", timeout=2).json().get("state", "unknown")
    except (httpx.HTTPError, ValueError) as error:
        return f"unreachable ({type(error).__name__})"


def wait_healthy(config: Settings, timeout: float = 180) -> None:
    problems = poll(
        lambda: unhealthy(config), until=lambda found: not found, timeout=timeout, every=1
    )
    if problems:
        raise TimeoutError(
            f"the stack is not healthy after {timeout:.0f}s: {'; '.join(problems.values())}"
        )


def heal(config: Settings) -> list[str]:
    """Restarts by hand what did not come back by itself: the connector through Connect's REST
    API, a process by kill -9 (the supervisor starts it again). Returns what it restarted."""
    restarted = []
    for name in unhealthy(config):
        if name == "connector":
            Connect(config.connect_url, timeout=30).restart(load_connector()[0], only_failed=True)
        elif name in (current := status.read(config) or {}).get("components", {}):
            if current["components"][name]["state"] == "ready":
                wait_restarted(config, name, kill_hard(config, name))
        else:
            continue
        restarted.append(name)
    return restarted
