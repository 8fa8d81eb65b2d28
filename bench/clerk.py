"""Signing in to the system of record as someone, the clerk by default (the stack's superuser):
a REST API token, or a live-feed token for the gateway. One sign-in per token: the API throttles
sign-ins per address."""

from __future__ import annotations

import httpx

from kernel.settings import ClerkLogin, Settings


class SignInRefused(AssertionError):
    """The system of record did not answer 200; an AssertionError so a test fails on it."""


def _sign_in(config: Settings, path: str, username: str | None, password: str | None) -> str:
    clerk = ClerkLogin.load()
    username = username or clerk.username
    response = httpx.post(
        f"{config.sor_url}{path}",
        json={"username": username, "password": password or clerk.password},
        timeout=10,
    )
    if response.status_code != 200:
        raise SignInRefused(f"{path} refused {username} ({response.status_code}): {response.text}")
    return response.json()["token"]


def api_token(config: Settings, username: str | None = None, password: str | None = None) -> str:
    """A REST API token (`Authorization: Token …`)."""
    return _sign_in(config, "/api/auth/token/", username, password)


def live_token(config: Settings, username: str | None = None, password: str | None = None) -> str:
    """A live-feed token; the clerk's is staff's, and may watch any account."""
    return _sign_in(config, "/api/auth/live-token/", username, password)
