"""The system of record's tests run against a real MariaDB and nothing else (marker `database`):
the one BANK_DB_HOST/BANK_DB_PORT name (the stack's, MariaDB alone from `make test-sor`, or a
throwaway one). pytest-django creates the `test_bank` database in it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import django
import pytest

# pytest-django sets Django up once settings are named; this folder is the only Django user.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sor.settings")
django.setup()

from django.conf import settings as django_settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from sor.bank import live_tokens, services  # noqa: E402
from sor.bank.models import Account, Customer  # noqa: E402

CLERK_PASSWORD = "clerk-test-password"


@pytest.fixture(scope="session")
def mariadb(running_database: object) -> None:
    """MariaDB, answering as the bank's user: nothing else of the stack is needed here."""
    import MySQLdb

    db = django_settings.DATABASES["default"]
    try:
        MySQLdb.connect(
            host=db["HOST"], port=int(db["PORT"]), user=db["USER"], password=db["PASSWORD"]
        ).close()
    except MySQLdb.OperationalError as error:
        pytest.fail(
            f"The system of record's tests need MariaDB at {db['HOST']}:{db['PORT']} as user "
            f"{db['USER']!r} ({error}). Start the stack (`make up`) or a throwaway MariaDB and "
            "set BANK_DB_PORT.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def django_db_setup(mariadb: None, django_db_setup: None) -> None:
    """pytest-django's test database, made only once MariaDB answers."""


@pytest.fixture(autouse=True)
def isolated_state(settings: Any, tmp_path: Path) -> Iterator[None]:
    """Each test gets its own throttle counters and live-feed key pair, and fast passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.LIVE_TOKEN_KEY_FILE = tmp_path / "keys" / "live-token-ed25519.pem"
    cache.clear()
    yield
    live_tokens.signing_key.cache_clear()


@pytest.fixture
def clerk(db: None) -> User:
    return User.objects.create_superuser("clerk", "clerk@bank.test", CLERK_PASSWORD)


@pytest.fixture
def second_clerk(db: None) -> User:
    return User.objects.create_superuser("second", "second@bank.test", CLERK_PASSWORD)


@pytest.fixture
def sign_in_to_admin() -> Callable[[User], Client]:
    """Signs a clerk in through the admin's login page, as a browser would."""

    def _sign_in(user: User) -> Client:
        browser = Client()
        page = browser.post(
            "/admin/login/?next=/admin/",
            {"username": user.username, "password": CLERK_PASSWORD, "next": "/admin/"},
        )
        assert page.status_code == 302, f"{user.username} could not sign in"
        return browser

    return _sign_in


@pytest.fixture
def api(clerk: User) -> APIClient:
    """A REST client signed in with the clerk's API token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=clerk).key}")
    return client


@pytest.fixture
def customer(db: None) -> Customer:
    return Customer.objects.create(name="Anna de Vries", email="anna@example.com")


@pytest.fixture
def open_account(customer: Customer) -> Any:
    """Opens an account: ``open_account(balance=10_000, currency="EUR", overdraft=0)``."""

    def _open(balance: int = 0, currency: str = "EUR", overdraft: int = 0) -> Account:
        return services.open_account(
            customer,
            currency,
            terms=services.Terms(overdraft, None),
            opening_balance=balance,
        )

    return _open
