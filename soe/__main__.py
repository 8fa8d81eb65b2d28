"""Starts the gateway: ``python -m soe --host=127.0.0.1 --port=8001``.

uvicorn's websocket server holds every frame in memory, inflated, before the application sees it;
its defaults (16 MiB frames, permessage-deflate on) let a client that has not even signed in make
the gateway hold megabytes. So the server is started here, with its limits taken from the same
settings as the protocol's: a frame larger than BANK_SOE_MAX_MESSAGE_BYTES is refused by the server
itself (close 1009), compressed or not.
"""

from __future__ import annotations

import argparse

import uvicorn

from soe.config import load_config

# Frames the server reads ahead of the application per connection; each is at most the message
# limit, and the gateway reads one message at a time.
FRAMES_READ_AHEAD = 4


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m soe", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    arguments = parser.parse_args()
    config = load_config()
    uvicorn.run(
        "soe.app:app",
        host=arguments.host,
        port=arguments.port,
        ws="websockets",
        ws_max_size=config.max_message_bytes,
        ws_max_queue=FRAMES_READ_AHEAD,
        ws_per_message_deflate=config.compression,
        # Without a proxy in front, X-Forwarded-For is whatever the client wrote: the address
        # the per-address limit counts must be the socket's own.
        proxy_headers=bool(config.trusted_proxies),
        forwarded_allow_ips=list(config.trusted_proxies) or None,
    )


if __name__ == "__main__":
    main()
