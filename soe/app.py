"""The gateway's wiring: settings, the one feed, the hub, the routes and the dashboard.

Started as ``python -m soe`` (see ``soe/__main__.py``: the websocket server's own limits come from
the same settings); the lifespan owns the Kafka feed from start-up to shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from events.money import EXPONENTS
from soe import collector, session
from soe.accounts import AccountBook
from soe.auth import PublicKeyMissing, TokenVerifier
from soe.config import GatewayConfig, load_config
from soe.connections import Hub
from soe.fan_out_log import FanOutLog
from soe.feed import Feed
from soe.headers import SecurityHeaders, security_headers
from soe.limits import ConnectionCount
from soe.memory import MemoryRelease
from soe.protocol import CloseCode
from soe.watch import Watch

log = logging.getLogger("soe")
STATIC_DIR = Path(__file__).parent / "static"
MAX_FAN_OUT_IDS = 100


@dataclass(frozen=True)
class Gateway:
    config: GatewayConfig
    hub: Hub
    feed: Feed
    verifier: TokenVerifier
    count: ConnectionCount


def create_app(config: GatewayConfig | None = None) -> FastAPI:
    config = config or load_config()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        collector.time_full_collections()
        book = AccountBook(config.history_per_account)
        hub = Hub(book, config.snapshot_history, FanOutLog(config.fan_out_log_size))
        hub.on_departure = MemoryRelease().departed
        hub.on_arrival = collector.Freezer().arrived
        verifier = TokenVerifier(config.public_key_pem, config.public_key_file)
        try:
            verifier.public_key()
        except PublicKeyMissing as missing:
            log.warning("%s; every sign-in fails until it is there", missing)
        feed = Feed(config, book, hub)
        app.state.gateway = Gateway(config, hub, feed, verifier, ConnectionCount(config.limits))
        feed_task = asyncio.create_task(feed.run(), name="kafka-feed")
        watch = Watch(hub, config.heartbeat_seconds, config.idle_timeout_seconds)
        watch_task = asyncio.create_task(watch.run(), name="connection-watch")
        try:
            yield
        finally:
            hub.close_all(CloseCode.GOING_AWAY, "the gateway is shutting down")
            for task in (feed_task, watch_task):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(title="Live bank gateway", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        if not request.app.state.gateway.feed.alive:
            return JSONResponse({"status": "the Kafka feed has stopped"}, status_code=503)
        return JSONResponse({"status": "alive"})

    @app.get("/ready")
    async def ready(request: Request) -> JSONResponse:
        feed: Feed = request.app.state.gateway.feed
        return JSONResponse(feed.status(), status_code=200 if feed.ready else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/fan-out")
    async def fan_out(
        request: Request,
        event_id: Annotated[list[str], Query(max_length=MAX_FAN_OUT_IDS)],
    ) -> dict[str, dict[str, object]]:
        """When the gateway fanned out these events and to how many connections; ids it does
        not remember (not read yet, or older than its log) are absent."""
        hub: Hub = request.app.state.gateway.hub
        return {i: asdict(found) for i, found in hub.fan_outs.lookup(event_id).items()}

    @app.get("/config.json")
    async def dashboard_config() -> dict[str, object]:
        return {
            "sor_url": config.sor_public_url,
            "token_url": f"{config.sor_public_url}/api/auth/live-token/",
            "feed_path": FEED_PATH,
            # The dashboard formats money with the bank's own exponents (events/money.py).
            "currency_exponents": EXPONENTS,
        }

    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")
    app.add_middleware(
        SecurityHeaders,
        headers=security_headers(config.dashboard_origins, config.sor_public_url),
    )
    return app


FEED_PATH = "/ws"


class LiveFeedFirst:
    """The application the server runs: the live feed's websocket goes straight to its session,
    everything else (the dashboard, /ready, /metrics, /fan-out) to FastAPI.

    A connection lives as long as its client watches, and everything its request passed through
    lives with it: through FastAPI's middleware, router and dependency solving, each open
    websocket held a chain of about twenty coroutines, three AsyncExitStacks and a request and a
    response object of FastAPI's own, a third of the objects the garbage collector tracks per
    connection, none of them used by the feed. The answers that refuse a handshake carry the
    security headers all the same (soe/session.py).

    The feed takes no query parameters: a token a client put there by mistake is dropped before
    the server's access log (which reads this same scope) can write it down.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        scope["query_string"] = b""
        if scope["path"] != FEED_PATH:
            await self.app(scope, receive, send)
            return
        gateway: Gateway = self.app.state.gateway
        await session.serve(
            WebSocket(scope, receive, send),
            config=gateway.config,
            hub=gateway.hub,
            verifier=gateway.verifier,
            is_ready=lambda: gateway.feed.ready,
            count=gateway.count,
        )


app = LiveFeedFirst(create_app())
