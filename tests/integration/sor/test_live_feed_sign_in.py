"""Signing in for a live-feed token: customers see their own accounts, staff see all; guessing
passwords is slowed down; the dashboard's origin may ask from the browser."""

from datetime import datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from rest_framework.test import APIClient

from kernel.settings import settings as stack_settings
from sor.bank.api.sign_in import SignInThrottle
from sor.bank.models import Customer

pytestmark = [pytest.mark.database, pytest.mark.django_db]

URL = "/api/auth/live-token/"
DASHBOARD = stack_settings().dashboard_origins[0]


@pytest.fixture
def demo(django_user_model) -> Customer:
    user = django_user_model.objects.create_user("demo", password="demo-password")
    return Customer.objects.create(name="Dana Demo", email="demo@example.com", user=user)


def _public_key(settings):
    public_file = settings.LIVE_TOKEN_KEY_FILE.with_name("live-token-ed25519.pub.pem")
    return serialization.load_pem_public_key(public_file.read_bytes())


def _sign_in(username: str, password: str, **headers):
    return APIClient().post(
        URL, {"username": username, "password": password}, format="json", **headers
    )


def test_a_customer_gets_a_token_for_their_own_accounts(demo, settings):
    answer = _sign_in("demo", "demo-password")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["customer_id"], body["staff"]) == (demo.pk, False)

    claims = jwt.decode(body["token"], _public_key(settings), algorithms=["EdDSA"])
    assert claims["sub"] == "demo"
    assert claims["customer_id"] == demo.pk
    assert claims["scope"] == "feed:own"
    assert claims["exp"] - claims["iat"] == settings.LIVE_TOKEN_TTL_SECONDS
    assert datetime.fromisoformat(body["expires_at"]).timestamp() == claims["exp"]


def test_staff_get_a_token_for_every_account(clerk, settings):
    body = _sign_in("clerk", "clerk-test-password").json()
    claims = jwt.decode(body["token"], _public_key(settings), algorithms=["EdDSA"])
    assert (claims["scope"], claims["customer_id"]) == ("feed:all", None)
    assert (body["staff"], body["customer_id"]) == (True, None)


def test_a_user_with_no_accounts_gets_no_token(django_user_model):
    django_user_model.objects.create_user("nobody", password="pw")
    answer = _sign_in("nobody", "pw")
    assert answer.status_code == 403
    assert answer.json()["message"] == "'nobody' has no accounts to watch"


def test_a_wrong_password_is_a_401(demo):
    answer = _sign_in("demo", "guess")
    assert answer.status_code == 401
    assert answer.json() == {"code": "wrong_credentials", "message": "Wrong username or password"}


def test_repeated_wrong_passwords_pause_sign_in_for_that_username(demo, clerk, settings):
    for _ in range(settings.SIGN_IN_FAILURE_LIMIT):
        assert _sign_in("demo", "guess").status_code == 401
    paused = _sign_in("demo", "demo-password")
    assert paused.status_code == 429
    assert paused.json()["code"] == "throttled"
    assert "Too many wrong passwords for 'demo'" in paused.json()["message"]
    assert int(paused["Retry-After"]) == settings.SIGN_IN_LOCKOUT_SECONDS
    assert _sign_in("clerk", "clerk-test-password").status_code == 200, "others are unaffected"


def test_many_sign_ins_from_one_address_are_throttled(demo, monkeypatch):
    monkeypatch.setitem(SignInThrottle.THROTTLE_RATES, "sign_in", "3/min")
    answers = [_sign_in("demo", "demo-password").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]


def test_the_dashboard_origin_may_ask_for_a_token_from_the_browser(demo):
    preflight = APIClient().options(
        URL,
        HTTP_ORIGIN=DASHBOARD,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == DASHBOARD
    answer = _sign_in("demo", "demo-password", HTTP_ORIGIN=DASHBOARD)
    assert answer["Access-Control-Allow-Origin"] == DASHBOARD


def test_other_origins_and_other_endpoints_get_no_cors_headers(demo, api):
    answer = _sign_in("demo", "demo-password", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in answer
    listing = api.get("/api/accounts/", HTTP_ORIGIN=DASHBOARD)
    assert "Access-Control-Allow-Origin" not in listing
