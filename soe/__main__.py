"""Starts the gateway: ``python -m soe --host=127.0.0.1 --port=8001``.

uvicorn's websocket server holds every frame in memory, inflated, before the application sees it;
its defaults (16 MiB frames, permessage-deflate on) let a client that has not even signed in make
the gateway hold megabytes. So the server is started here, with its limits taken from the same
settings as the protocol's: a frame larger than BANK_SOE_MAX_MESSAGE_BYTES is refused by the server
itself (close 1009), compressed or not.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys

import uvicorn

from soe.config import load_config

# BANK_SOE_WS_IMPLEMENTATION's choices: uvicorn's sansio server with the write flow control it
# lacks (soe/ws_server.py), or its older websockets server.
SERVERS = {
    "websockets-sansio": "soe.ws_server:FlowControlledSansIO",
    "websockets": "websockets",
}

# Frames the older websockets server reads ahead of the application per connection; each is at
# most the message limit, and the gateway reads one message at a time. (The sansio server reads
# none ahead: it stops reading until the application has taken the last frame.)
FRAMES_READ_AHEAD = 4


def _with_the_system_allocator() -> None:
    """Runs the gateway with PYTHONMALLOC=malloc unless the operator chose an allocator.

    Python's own small-object allocator keeps a 256 KiB arena as long as one object in it
    lives: after thousands of clients leave, most of their memory stays with the gateway (26 of
    36 MiB per 1,000 clients, measured). With glibc's allocator, soe/memory.py's malloc_trim
    gives it back (4 MiB kept); the memory per connection is the same. The variable must be set
    before the interpreter starts, hence the exec (same process id)."""
    if "PYTHONMALLOC" not in os.environ:
        os.environ["PYTHONMALLOC"] = "malloc"
        os.execv(sys.executable, [sys.executable, "-m", "soe", *sys.argv[1:]])


def main() -> None:
    _with_the_system_allocator()
    parser = argparse.ArgumentParser(prog="python -m soe", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    arguments = parser.parse_args()
    config = load_config()
    _allow_open_files(config.limits.total)
    uvicorn.run(
        "soe.app:app",
        host=arguments.host,
        port=arguments.port,
        ws=SERVERS[config.ws_implementation],
        ws_max_size=config.max_message_bytes,
        ws_max_queue=FRAMES_READ_AHEAD,
        ws_per_message_deflate=config.compression,
        # Without a proxy in front, X-Forwarded-For is whatever the client wrote: the address
        # the per-address limit counts must be the socket's own.
        proxy_headers=bool(config.trusted_proxies),
        forwarded_allow_ips=list(config.trusted_proxies) or None,
    )


def _allow_open_files(connections: int) -> None:
    """Raises the soft limit of open files so BANK_SOE_MAX_CONNECTIONS sockets fit: each client
    is one file, and the usual soft limit (1,024) would refuse clients long before the gateway's
    own limit does. Never above the hard limit, which only the system may raise."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 1024  # the listening socket, Kafka, logs, and room to refuse politely
    if soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


if __name__ == "__main__":
    main()
