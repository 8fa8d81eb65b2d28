"""HAProxy in front of the gateways (BANK_SOE_GATEWAYS of 2 or more): its configuration, rendered
from the settings like every other process's, and the state of its servers for `make status`.

Why each setting is what it is:
- ``leastconn``: a websocket lives for hours, so the gateway with the fewest clients takes the
  next one (round robin would count requests, not the clients a gateway holds).
- ``/ready`` health checks, every second, two in a row to go down or up: a gateway that is still
  reading Kafka at start (503) gets no client, and a frozen or dead one stops getting any.
- ``on-marked-down shutdown-sessions``: a gateway marked down loses its clients at once, so they
  reconnect through the balancer to one that serves (a killed one has dropped them already).
- ``redispatch`` and retries: a connection refused by a gateway that just died is tried on the
  other at once, before the health checks have noticed.
- ``timeout tunnel``: once upgraded, a websocket is a tunnel; it may be quiet between the
  heartbeats of both sides (15 s), so the tunnel's timeout is long. HAProxy does not buffer it.
- ``X-Forwarded-For``: the client's address, for the gateway's per-address limit. Whatever a
  client wrote there itself is dropped first; the gateways trust the header from the balancer's
  address only (BANK_TRUSTED_PROXIES, set for them by stack/processes.py).
"""

from __future__ import annotations

import resource
import socket
from dataclasses import dataclass
from pathlib import Path

HEALTH_PATH = "/ready"
# Room for each gateway's connection limit; HAProxy holds two sockets per client.
FILES_PER_CONNECTION = 2


@dataclass(frozen=True)
class Server:
    name: str
    host: str
    port: int


def haproxy_config(
    *,
    host: str,
    port: int,
    servers: list[Server],
    max_connections: int,
    stats_socket: Path,
    nameserver: str | None = None,
) -> str:
    """The configuration of a balancer listening on ``host:port`` in front of ``servers``.
    With a ``nameserver`` the servers' names are looked up again while it runs (a container
    started again may get a new address) and may be unknown when it starts."""
    check = "check"
    resolvers: list[str] = []
    if nameserver is not None:
        check += " resolvers names init-addr last,libc,none"
        resolvers = ["resolvers names", f"    nameserver dns {nameserver}", "    hold valid 5s", ""]
    lines = [
        "# Rendered by stack/balancer.py from the environment; edits are overwritten.",
        "global",
        "    log stdout format raw local0 info",
        f"    maxconn {max_connections}",
        f"    stats socket {stats_socket} mode 600 level admin",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option dontlognull",
        "    option redispatch",
        "    retries 3",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 10s",
        "    timeout tunnel 1h",
        "    timeout client-fin 10s",
        "    timeout check 3s",
        "",
        *resolvers,
        "frontend dashboard",
        f"    bind {host}:{port}",
        "    http-request del-header X-Forwarded-For",
        "    option forwardfor",
        "    default_backend gateways",
        "",
        "backend gateways",
        "    balance leastconn",
        f"    option httpchk GET {HEALTH_PATH}",
        "    http-check expect status 200",
        "    default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions",
        *(f"    server {s.name} {s.host}:{s.port} {check}" for s in servers),
    ]
    return "\n".join(lines) + "\n"


def max_connections_within_open_files(gateway_limit: int) -> int:
    """The gateways' connection limits together, within what this machine's open-file limit
    allows HAProxy."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = gateway_limit
    if hard == resource.RLIM_INFINITY:
        return wanted
    return max(256, min(wanted, (hard - 256) // FILES_PER_CONNECTION))


def server_states(stats_socket: Path, timeout: float = 2.0) -> dict[str, str]:
    """Each gateway's state as the balancer sees it (``UP``, ``DOWN``, ...), from its stats
    socket; empty when the balancer does not answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(str(stats_socket))
            connection.sendall(b"show stat\n")
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
    except OSError:
        return {}
    return _parse_stat(answer.decode(errors="replace"))


def _parse_stat(text: str) -> dict[str, str]:
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# "):
        return {}
    columns = lines[0][2:].split(",")
    states = {}
    for line in lines[1:]:
        row = dict(zip(columns, line.split(","), strict=False))
        if row.get("pxname") == "gateways" and row.get("svname") not in (None, "BACKEND"):
            states[row["svname"]] = row.get("status", "?")
    return states


# The compose cluster variant (docker-compose.cluster.yml): two gateway containers on the
# gateway's own port, HAProxy on the dashboard's port in a container of its own.
COMPOSE_GATEWAYS = ("soe", "soe-2")
COMPOSE_PORT = 8001
COMPOSE_MAX_CONNECTIONS = 20_000


def compose_config() -> str:
    """compose/haproxy.cfg, which tests/unit/compose/ checks against this rendering."""
    return haproxy_config(
        host="0.0.0.0",
        port=COMPOSE_PORT,
        servers=[Server(name, name, COMPOSE_PORT) for name in COMPOSE_GATEWAYS],
        max_connections=COMPOSE_MAX_CONNECTIONS,
        stats_socket=Path("/tmp/balancer.sock"),
        nameserver="127.0.0.11:53",  # Docker's own DNS inside every compose network
    )


if __name__ == "__main__":
    # `python -m stack.balancer > compose/haproxy.cfg` renders the compose variant's file.
    print(compose_config(), end="")
