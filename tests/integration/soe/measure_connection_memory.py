"""Memory of one idle, signed-in live-feed connection: per websocket server of uvicorn, with and
without permessage-deflate, and what is left once the clients have gone.

Not a test: the measurement behind BANK_SOE_WS_IMPLEMENTATION's and BANK_SOE_WS_COMPRESSION's
defaults. Starts the gateway (python -m soe) once per variant against the running stack's Kafka,
opens N signed-in connections that offer compression, and reports the growth of the gateway's
resident memory per connection, then its growth still held AFTER_SECONDS after they closed.

    source <your env file>; PYTHONPATH=. .venv/bin/python \\
        tests/integration/soe/measure_connection_memory.py [N]
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import httpx
import psutil
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bench.children import free_port
from kernel.settings import REPO_ROOT, settings
from soe.config import WS_IMPLEMENTATIONS
from tests.support.soe_live import Client, Minter

SETTLE_SECONDS = 3
AFTER_SECONDS = 10  # soe/memory.py gives memory back 5 s after the departures stop


def start_gateway(
    port: int, key: Ed25519PrivateKey, compression: bool, implementation: str
) -> subprocess.Popen:
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    env = {
        **os.environ,
        "BANK_KAFKA_BOOTSTRAP": settings().kafka_bootstrap,
        "BANK_LIVE_TOKEN_PUBLIC_KEY": pem,
        "BANK_DASHBOARD_ORIGINS": f"http://127.0.0.1:{port}",
        "BANK_SOE_WS_COMPRESSION": "true" if compression else "false",
        "BANK_SOE_WS_IMPLEMENTATION": implementation,
        "BANK_SOE_MAX_CONNECTIONS": "100000",
        "BANK_SOE_MAX_CONNECTIONS_PER_PRINCIPAL": "100000",
        "BANK_SOE_MAX_CONNECTIONS_PER_ADDRESS": "100000",
        "BANK_SOE_MAX_UNAUTHENTICATED": "100000",
        "BANK_SOE_HEARTBEAT_SECONDS": "600",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "soe", "--host=127.0.0.1", f"--port={port}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("the gateway did not get ready in 120 s; is the stack up (make up)?")


async def measure(count: int, compression: bool, implementation: str) -> tuple[float, float, bool]:
    """KiB of resident memory per idle connection, MiB still held after they closed, and
    whether compression was negotiated."""
    key = Ed25519PrivateKey.generate()
    minter = Minter(key)
    port = free_port()
    gateway = start_gateway(port, key, compression, implementation)
    memory = psutil.Process(gateway.pid)
    url, origin = f"ws://127.0.0.1:{port}/ws", f"http://127.0.0.1:{port}"
    try:
        await asyncio.sleep(SETTLE_SECONDS)
        before = memory.memory_info().rss
        clients = []
        for batch in range(0, count, 50):
            opened = await asyncio.gather(
                *(Client.open(url, origin=origin) for _ in range(min(50, count - batch)))
            )
            for n, client in enumerate(opened, batch):
                await client.authenticate(minter.token(n + 1))
            clients += opened
        negotiated = "Sec-WebSocket-Extensions" in clients[0].ws.response.headers
        await asyncio.sleep(SETTLE_SECONDS)
        grown = memory.memory_info().rss - before
        await asyncio.gather(*(client.close() for client in clients))
        await asyncio.sleep(AFTER_SECONDS)
        kept = memory.memory_info().rss - before
        return grown / count / 1024, kept / 2**20, negotiated
    finally:
        gateway.terminate()
        gateway.wait(15)


async def main(count: int) -> None:
    for implementation in WS_IMPLEMENTATIONS:
        for compression in (False, True):
            per_connection, kept, negotiated = await measure(count, compression, implementation)
            print(
                f"{implementation:17} compression {'on ' if compression else 'off'} "
                f"(negotiated: {negotiated}): {per_connection:.1f} KiB per idle signed-in "
                f"connection ({count} connections); {kept:.1f} MiB still held "
                f"{AFTER_SECONDS} s after they closed"
            )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
