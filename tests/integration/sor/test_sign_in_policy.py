"""One brute-force policy for every sign-in: the admin's login form and the API's token
endpoints share a lockout per username, counted before the password is checked (so parallel
guesses cannot slip past it), a per-address rate that believes X-Forwarded-For only from a
trusted proxy, and, outside local development, no published local-only password."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from kernel.settings import LOCAL_ONLY_DEFAULTS
from sor.bank.api.sign_in import SignInThrottle

pytestmark = pytest.mark.database

PASSWORD = "right-test-password"
TOKEN_URL = "/api/auth/token/"


class CountingHasher(MD5PasswordHasher):
    """MD5, slowed down to a real hasher's pace, counting how many passwords it checked."""

    algorithm = "counting_md5"
    checked = 0
    lock = threading.Lock()

    def verify(self, password: str, encoded: str) -> bool:
        with CountingHasher.lock:
            CountingHasher.checked += 1
        time.sleep(0.05)
        return super().verify(password, encoded)


def _api_sign_in(username: str, password: str, **headers: str):
    return APIClient().post(
        TOKEN_URL, {"username": username, "password": password}, format="json", **headers
    )


def _admin_sign_in(username: str, password: str, **headers: str):
    return Client().post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        **headers,
    )


@pytest.fixture
def fast_rate(monkeypatch):
    """A per-address rate that does not get in the way of the lockout under test."""
    monkeypatch.setitem(SignInThrottle.THROTTLE_RATES, "sign_in", "1000/min")


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user("teller", password=PASSWORD, is_staff=True)


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_get_at_most_the_limit_checked(settings, fast_rate):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    User.objects.create_user("target", password=PASSWORD, is_staff=True)
    CountingHasher.checked = 0

    def guess(_: int) -> int:
        try:
            return _api_sign_in("target", "wrong-guess").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(guess, range(30)))

    assert CountingHasher.checked <= settings.SIGN_IN_FAILURE_LIMIT, answers
    assert answers.count(401) == CountingHasher.checked
    assert answers.count(429) == 30 - CountingHasher.checked
    paused = _api_sign_in("target", PASSWORD)
    assert paused.status_code == 429, "the right password waits out the lockout too"


@pytest.mark.django_db
def test_the_admin_login_locks_out_after_the_limit(staff, settings, fast_rate):
    for _ in range(settings.SIGN_IN_FAILURE_LIMIT):
        page = _admin_sign_in("teller", "wrong-guess")
        assert page.status_code in (200, 429)
    locked = _admin_sign_in("teller", PASSWORD)
    assert locked.status_code == 429, "the right password is refused during the lockout"
    assert "_auth_user_id" not in locked.client.session


@pytest.mark.django_db
def test_a_username_locked_through_the_api_cannot_sign_in_to_the_admin(staff, settings, fast_rate):
    for _ in range(settings.SIGN_IN_FAILURE_LIMIT):
        assert _api_sign_in("teller", "wrong-guess").status_code == 401
    assert _api_sign_in("teller", PASSWORD).status_code == 429
    locked = _admin_sign_in("teller", PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in locked.client.session


@pytest.mark.django_db
def test_a_right_password_before_the_limit_starts_the_count_again(staff, settings, fast_rate):
    for _ in range(settings.SIGN_IN_FAILURE_LIMIT - 1):
        assert _api_sign_in("teller", "wrong-guess").status_code == 401
    assert _admin_sign_in("teller", PASSWORD).status_code == 302
    for _ in range(settings.SIGN_IN_FAILURE_LIMIT - 1):
        assert _api_sign_in("teller", "wrong-guess").status_code == 401
    assert _api_sign_in("teller", PASSWORD).status_code == 200


@pytest.mark.django_db
def test_a_new_forwarded_address_per_request_does_not_escape_the_rate(staff, monkeypatch):
    monkeypatch.setitem(SignInThrottle.THROTTLE_RATES, "sign_in", "3/min")
    answers = [
        _api_sign_in("nobody", "guess", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(6)
    ]
    assert answers == [401, 401, 401, 429, 429, 429]


@pytest.mark.django_db
def test_a_trusted_proxy_forwards_each_clients_own_address(staff, monkeypatch, settings):
    settings.BANK_TRUSTED_PROXIES = "127.0.0.1"
    monkeypatch.setitem(SignInThrottle.THROTTLE_RATES, "sign_in", "2/min")
    first = [
        _api_sign_in("nobody", "guess", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code
        for _ in range(3)
    ]
    other = _api_sign_in("nobody", "guess", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code
    assert first == [401, 401, 429]
    assert other == 401, "another client behind the same proxy has its own rate"


@pytest.mark.django_db
def test_the_admin_login_form_has_the_per_address_rate(staff, monkeypatch):
    monkeypatch.setitem(SignInThrottle.THROTTLE_RATES, "sign_in", "3/min")
    answers = [_admin_sign_in(f"user{n}", "guess").status_code for n in range(4)]
    assert answers == [200, 200, 200, 429]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["DJANGO_SUPERUSER_PASSWORD", "BANK_DEMO_PASSWORD"])
def test_published_local_only_passwords_are_refused_outside_local(db, settings, fast_rate, name):
    published = LOCAL_ONLY_DEFAULTS[name]
    User.objects.create_user("old-clerk", password=published, is_staff=True)

    settings.BANK_ENV = "production"
    assert _api_sign_in("old-clerk", published).status_code == 401
    assert _admin_sign_in("old-clerk", published).status_code == 200, "the form again"

    settings.BANK_ENV = "local"
    assert _api_sign_in("old-clerk", published).status_code == 200


@pytest.mark.django_db
def test_an_administrator_lifts_a_lockout_with_axes_reset_username(staff, settings, fast_rate):
    for _ in range(settings.SIGN_IN_FAILURE_LIMIT):
        _api_sign_in("teller", "wrong-guess")
    assert _api_sign_in("teller", PASSWORD).status_code == 429
    call_command("axes_reset_username", "teller")
    assert _api_sign_in("teller", PASSWORD).status_code == 200
