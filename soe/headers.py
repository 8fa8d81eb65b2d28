"""Security headers on every HTTP answer of the gateway: the dashboard, /config.json, the
operational endpoints, and the answers that refuse a websocket handshake.

The dashboard is a sign-in form; another site must not be able to frame it (clickjacking) or load
anything into it, so the policy allows only the gateway itself, the system of record the form posts
to, and the feed's own websocket.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

RESPONSE_STARTS = ("http.response.start", "websocket.http.response.start")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _websocket_origin(origin: str) -> str:
    scheme, _, rest = origin.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}"


def content_security_policy(dashboard_origins: Iterable[str], sor_public_url: str) -> str:
    # 'self' covers ws: in current browsers; the feed's origins are named for the others.
    feeds = sorted(_websocket_origin(origin) for origin in dashboard_origins)
    connect = " ".join(["'self'", _origin(sor_public_url), *feeds])
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(
    dashboard_origins: Iterable[str], sor_public_url: str
) -> list[tuple[str, str]]:
    return [
        ("content-security-policy", content_security_policy(dashboard_origins, sor_public_url)),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),  # for browsers that predate frame-ancestors
        ("cross-origin-opener-policy", "same-origin"),
    ]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, headers: list[tuple[str, str]]) -> None:
        self.app = app
        self.headers = [(name.encode(), value.encode()) for name, value in headers]
        self.names = {name for name, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] in RESPONSE_STARTS:
                kept = [h for h in message.get("headers", []) if h[0].lower() not in self.names]
                message = {**message, "headers": kept + self.headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
