"""One websocket client from handshake to close: limits, Origin, token, then requests and
heartbeats."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from soe import metrics, protocol
from soe.auth import Principal, PublicKeyMissing, TokenRejected, TokenVerifier, origin_allowed
from soe.config import GatewayConfig
from soe.connection import Connection
from soe.connections import Hub
from soe.headers import security_headers
from soe.limits import ConnectionCount, LogBudget, TokenBucket, held_back_note
from soe.messages import Error, Pong, Welcome
from soe.protocol import Auth, CloseCode, Find, ProtocolError, Subscribe, Unsubscribe
from soe.protocol import Ping as ClientPing
from soe.protocol import Pong as ClientPong
from soe.send_queue import SendQueue
from soe.wire import wire_of

log = logging.getLogger(__name__)

MAX_PROTOCOL_ERRORS = 10
# Refused handshakes and tokens are each one line; a crowd of them must not bury the rest.
HANDSHAKE_LOG = LogBudget()
# The HTTP status a handshake refused by each connection limit gets (the websocket never opens).
REFUSAL_STATUS = {"total": 503, "unauthenticated": 503, "address": 429}


async def serve(
    websocket: WebSocket,
    *,
    config: GatewayConfig,
    hub: Hub,
    verifier: TokenVerifier,
    is_ready: Callable[[], bool],
    count: ConnectionCount,
) -> None:
    peer = _peer(websocket)
    origin = websocket.headers.get("origin")
    if not origin_allowed(origin, config.dashboard_origins):
        _note(
            logging.WARNING,
            "refused websocket from %s: Origin %r is not in BANK_DASHBOARD_ORIGINS",
            peer,
            origin,
        )
        metrics.HANDSHAKES.labels("origin_refused").inc()
        await _deny(
            websocket,
            config,
            403,
            "origin_refused",
            "this page may not open the live feed",
        )
        return
    address = websocket.client.host if websocket.client else "unknown"
    refused = count.admit(address)
    if refused is not None:
        await _refuse_by_limit(websocket, config, refused, peer, count)
        return
    signed_in_as: str | None = None
    metrics.UNAUTHENTICATED.set(count.unauthenticated)
    try:
        await websocket.accept()
        principal = await _authenticate(websocket, config, verifier, peer)
        if principal is None:
            return
        if not count.sign_in(principal.subject):
            metrics.HANDSHAKES.labels("too_many_connections").inc()
            await _refuse(
                websocket,
                CloseCode.TOO_MANY_CONNECTIONS,
                "too_many_connections",
                f"{principal.subject} already has {count.limits.per_principal} connections open",
            )
            return
        signed_in_as = principal.subject
        metrics.UNAUTHENTICATED.set(count.unauthenticated)
        if not is_ready():
            metrics.HANDSHAKES.labels("not_ready").inc()
            await _refuse(
                websocket,
                CloseCode.TRY_AGAIN_LATER,
                "not_ready",
                "the gateway is still catching up with Kafka; reconnect shortly",
            )
            return
        metrics.HANDSHAKES.labels("accepted").inc()
        queue = SendQueue(config.send_queue_size, config.send_queue_bytes)
        socket = wire_of(websocket.scope) if config.shared_frames else None
        connection = Connection(principal, queue, peer, MAX_PROTOCOL_ERRORS, socket)
        await Session(websocket, connection, hub, config).run()
    finally:
        count.leave(address, signed_in_as)
        metrics.UNAUTHENTICATED.set(count.unauthenticated)


async def _refuse_by_limit(
    websocket: WebSocket, config: GatewayConfig, limit: str, peer: str, count: ConnectionCount
) -> None:
    metrics.REFUSED_CONNECTIONS.labels(limit).inc()
    limits = count.limits
    message = {
        "total": f"the gateway holds its limit of {limits.total} connections",
        "unauthenticated": f"{limits.unauthenticated} connections are waiting to sign in",
        "address": f"{limits.per_address} connections are open from this address",
    }[limit]
    _note(logging.WARNING, "refused websocket from %s: %s", peer, message)
    await _deny(
        websocket,
        config,
        REFUSAL_STATUS[limit],
        f"too_many_connections_{limit}",
        f"{message}; try again later",
        {"Retry-After": "10"},
    )


# The headers uvicorn's sansio server writes itself on a refused handshake (websockets'
# ``reject``) and then adds the application's to: sent twice, a client refuses the answer.
SET_BY_SANSIO_SERVER = (b"content-length", b"content-type")


async def _deny(
    websocket: WebSocket,
    config: GatewayConfig,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Refuse the handshake with an HTTP answer, before the websocket opens; like every HTTP
    answer of the gateway it carries the security headers (soe/headers.py)."""
    safety = security_headers(config.dashboard_origins, config.sor_public_url)
    response = JSONResponse(
        {"code": code, "message": message}, status, {**dict(safety), **(headers or {})}
    )
    if config.ws_implementation == "websockets-sansio":
        response.raw_headers = [
            (name, value)
            for name, value in response.raw_headers
            if name.lower() not in SET_BY_SANSIO_SERVER
        ]
    try:
        await websocket.send_denial_response(response)
    except RuntimeError:  # a server without the denial extension: its plain 403 says no as well
        await websocket.close(code=CloseCode.POLICY_VIOLATION)


def _note(level: int, message: str, *args: object) -> None:
    held_back = HANDSHAKE_LOG.take()
    if held_back is not None:
        log.log(level, message + "%s", *args, held_back_note(held_back))


async def _authenticate(
    websocket: WebSocket, config: GatewayConfig, verifier: TokenVerifier, peer: str
) -> Principal | None:
    try:
        message = await asyncio.wait_for(websocket.receive(), config.auth_timeout_seconds)
    except TimeoutError:
        metrics.HANDSHAKES.labels("auth_timeout").inc()
        await _refuse(
            websocket, CloseCode.AUTH_REQUIRED, "auth_required", "no auth message in time"
        )
        return None
    if message["type"] == "websocket.disconnect":
        return None
    try:
        request = protocol.parse_client_message(_frame(message), config.max_message_bytes)
    except ProtocolError as error:
        metrics.HANDSHAKES.labels("auth_malformed").inc()
        code = CloseCode.MESSAGE_TOO_BIG if error.code == "message_too_big" else None
        await _refuse(websocket, code or CloseCode.AUTH_REQUIRED, error.code, error.message)
        return None
    if not isinstance(request, Auth):
        metrics.HANDSHAKES.labels("auth_missing").inc()
        await _refuse(
            websocket, CloseCode.AUTH_REQUIRED, "auth_required", "the first message must be auth"
        )
        return None
    try:
        return verifier.verify(request.token)
    except TokenRejected as rejected:
        # The token itself is never logged: it would let a log reader act as the customer.
        _note(logging.INFO, "refused live-feed token from %s: %s", peer, rejected)
        if rejected.expired:
            metrics.HANDSHAKES.labels("token_expired").inc()
            await _refuse(websocket, CloseCode.TOKEN_EXPIRED, "token_expired", str(rejected))
        else:
            metrics.HANDSHAKES.labels("auth_failed").inc()
            await _refuse(websocket, CloseCode.AUTH_FAILED, "auth_failed", str(rejected))
    except PublicKeyMissing as missing:
        log.error("cannot check live-feed tokens: %s", missing)
        metrics.HANDSHAKES.labels("no_public_key").inc()
        await _refuse(
            websocket, CloseCode.INTERNAL_ERROR, "internal_error", "the gateway cannot check tokens"
        )
    return None


async def _refuse(websocket: WebSocket, code: int, error_code: str, message: str) -> None:
    metrics.CLOSES.labels(str(code)).inc()
    try:
        await websocket.send_text(Error(code=error_code, message=message).encode())
        await websocket.close(code=code, reason=message[:120])
    except (WebSocketDisconnect, RuntimeError):
        log.debug("client left before hearing why it was refused (%s)", error_code)


def _frame(message: dict[str, Any]) -> str | bytes:
    text = message.get("text")
    return text if text is not None else (message.get("bytes") or b"")


def _peer(websocket: WebSocket) -> str:
    client = websocket.client
    return f"{client.host}:{client.port}" if client else "unknown peer"


class Session:
    """A live connection's reader task, and its writer task when it has no Wire; either may end
    it, and so may the gateway's Watch (soe/watch.py: pings, silence, token expiry)."""

    def __init__(
        self, websocket: WebSocket, connection: Connection, hub: Hub, config: GatewayConfig
    ) -> None:
        self.websocket = websocket
        self.connection = connection
        self.hub = hub
        self.config = config

    async def run(self) -> None:
        connection, principal = self.connection, self.connection.principal
        self.hub.register(connection)
        connection.next_ping = time.monotonic() + self.config.heartbeat_seconds
        connection.send(
            Welcome(
                subject=principal.subject,
                customer_id=principal.customer_id,
                scope=principal.scope,
                expires_at=principal.expires_at,
                heartbeat_seconds=int(self.config.heartbeat_seconds),
                max_message_bytes=self.config.max_message_bytes,
                max_messages_per_second=self.config.client_messages_per_second,
            )
        )
        # A reader task per connection, and a writer task only for a connection without a Wire
        # (with one, the socket's drain writes the queue, soe/connection.py); pings, silence and
        # token expiry are the gateway's one Watch's.
        jobs = [self._read()] if connection.wire is not None else [self._read(), self._write()]
        tasks = [asyncio.create_task(job) for job in jobs]
        for task in tasks:
            task.add_done_callback(self._on_task_done)
        try:
            code, reason = await asyncio.shield(connection.closing)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.hub.unregister(connection)
        if code is not None:
            await self._close(code, reason)

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("session of %r failed", self.connection, exc_info=task.exception())
            self.connection.request_close(CloseCode.INTERNAL_ERROR, "internal error")

    async def _close(self, code: int, reason: str) -> None:
        metrics.CLOSES.labels(str(code)).inc()
        log.info("closing %r with %d (%s)", self.connection, code, reason)
        try:
            # websockets gives up on an unresponsive peer after its own close timeout (10 s).
            await asyncio.wait_for(self.websocket.close(code=code, reason=reason), 15)
        except (TimeoutError, WebSocketDisconnect, RuntimeError, OSError) as error:
            log.debug("close of %r did not complete: %r", self.connection, error)

    async def _read(self) -> None:
        rate = TokenBucket(self.config.client_messages_per_second, self.config.client_message_burst)
        connection = self.connection
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                connection.request_close(None, "client left")
                return
            connection.last_heard = time.monotonic()
            if not rate.take():
                connection.request_close(
                    CloseCode.TOO_MANY_MESSAGES,
                    f"more than {self.config.client_messages_per_second} messages a second",
                )
                return
            try:
                request = protocol.parse_client_message(
                    _frame(message), self.config.max_message_bytes
                )
            except ProtocolError as error:
                if error.code == "message_too_big":
                    connection.request_close(CloseCode.MESSAGE_TOO_BIG, error.message)
                    return
                connection.refuse(error.code, error.message)
            else:
                self._handle(request)
            if connection.closing.done():
                return

    def _handle(self, request: object) -> None:
        if isinstance(request, Subscribe):
            self.hub.subscribe(self.connection, request)
        elif isinstance(request, Unsubscribe):
            self.hub.unsubscribe(self.connection, request.accounts)
        elif isinstance(request, Find):
            self.hub.find(self.connection, request)
        elif isinstance(request, ClientPing):
            self.connection.send(Pong(ts=request.ts))
        elif isinstance(request, Auth):
            self.connection.refuse("already_authenticated", "this connection is already signed in")
        elif not isinstance(request, ClientPong):
            raise TypeError(f"no handler for {request!r}")

    async def _write(self) -> None:
        """The writer of a connection without a Wire: each frame through an ASGI send."""
        queue = self.connection.queue
        while True:
            frame = await queue.get()
            try:
                await self.websocket.send_text(frame.text)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self.connection.request_close(None, "client left")
                return
            metrics.sent(frame.kind)
