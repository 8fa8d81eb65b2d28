"""One brute-force policy for every sign-in, the admin's login form and the API's token
endpoints alike: django-axes' lockout per username, with each attempt counted atomically before
the password is checked, and the published local-only passwords refused outside local
development.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import OperationalError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from kernel.settings import LOCAL_ONLY_DEFAULTS
from sor.bank.models import SignInBudget

log = logging.getLogger(__name__)

_DEADLOCK = 1213  # MariaDB's ER_LOCK_DEADLOCK
_DEADLOCK_RETRIES = 3

# The passwords published in the repository for local development: never good enough elsewhere.
LOCAL_ONLY_PASSWORDS = frozenset(
    LOCAL_ONLY_DEFAULTS[name] for name in ("DJANGO_SUPERUSER_PASSWORD", "BANK_DEMO_PASSWORD")
)


def _budget_key(username: str) -> str:
    return username.strip().lower()[:150]


def reserve_attempt(username: str) -> bool:
    """Counts one sign-in attempt for the username; False when it is over the limit. The window
    starts again with every attempt, so a guesser who keeps trying stays locked out.

    One upsert, then a read of the row it locked: parallel attempts queue on that row lock, so
    each sees the count its own attempt made."""
    now = timezone.now()
    window_ends = now + timedelta(seconds=settings.SIGN_IN_LOCKOUT_SECONDS)
    table = SignInBudget._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (username, attempts, window_ends) VALUES (%s, 1, %s) "
            "ON DUPLICATE KEY UPDATE attempts = IF(window_ends <= %s, 1, attempts + 1), "
            "window_ends = VALUES(window_ends)",
            [_budget_key(username), window_ends, now],
        )
        cursor.execute(f"SELECT attempts FROM {table} WHERE username = %s", [_budget_key(username)])
        (attempts,) = cursor.fetchone()
    return attempts <= settings.SIGN_IN_FAILURE_LIMIT


def forget_attempts(username: str) -> None:
    """A right password: the username's count starts from zero."""
    SignInBudget.objects.filter(username=_budget_key(username)).delete()


def is_paused(request: HttpRequest) -> bool:
    """Whether this request's sign-in was refused by the lockout before its password was
    checked (a wrong password that reaches the limit is answered as a wrong password)."""
    return bool(getattr(request, "bank_sign_in_refused", False))


class BankSignInHandler(AxesDatabaseHandler):
    """Axes' database handler, with the attempt reserved before the password is checked."""

    def is_allowed(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        allowed = super().is_allowed(request, credentials)
        username = get_client_username(request, credentials)
        if allowed and username and not reserve_attempt(username):
            allowed = False
        if not allowed:
            # AxesMiddleware then answers the admin's login form with the lockout page.
            request.axes_locked_out = request.bank_sign_in_refused = True
        return allowed

    def reset_attempts(
        self,
        *,
        ip_address: str | None = None,
        username: str | None = None,
        ip_or_username: bool = False,
    ) -> int:
        """``manage.py axes_reset_username NAME`` (or ``axes_reset``) lifts our count too."""
        count = super().reset_attempts(
            ip_address=ip_address, username=username, ip_or_username=ip_or_username
        )
        if username:
            forget_attempts(username)
        elif not ip_address:
            SignInBudget.objects.all().delete()
        return count

    def user_login_failed(
        self, sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs: Any
    ) -> None:
        # Axes creates the failure row with get_or_create under a row lock; the first failures
        # of one username in parallel can deadlock there. The loser is rolled back: try again.
        for attempt in range(_DEADLOCK_RETRIES):
            try:
                return super().user_login_failed(sender, credentials, request, **kwargs)
            except OperationalError as error:
                if error.args[0] != _DEADLOCK or attempt == _DEADLOCK_RETRIES - 1:
                    raise
        return None

    def user_logged_in(self, sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
        super().user_logged_in(sender, request, user, **kwargs)
        forget_attempts(user.get_username())


class SignInLockoutBackend(AxesStandaloneBackend):
    """Axes' lockout check, first in AUTHENTICATION_BACKENDS. A password checked without a web
    request (a management command on the server) is nobody guessing over the network."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


class LocalOnlyPasswordBackend:
    """Outside local development, refuses the passwords the repository publishes for it."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if settings.BANK_ENV != "local" and password in LOCAL_ONLY_PASSWORDS:
            log.warning(
                "Refused a sign-in for %r with a published local-only password (BANK_ENV=%s); "
                "give the user a real password",
                username,
                settings.BANK_ENV,
            )
            raise PermissionDenied("local-only password outside local development")
        return None

    def get_user(self, user_id: int) -> None:
        return None
