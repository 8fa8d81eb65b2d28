"""The API asks for the same model permissions as the admin: staff status alone moves no money,
the clerk group's members do everything a clerk does."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from sor.bank.clerks import CLERK_GROUP, ensure_clerk_group
from sor.bank.models import Account, LedgerEntry

pytestmark = [pytest.mark.database, pytest.mark.django_db]

PASSWORD = "staff-test-password"


def _client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def bare_staff(db) -> User:
    """Staff status and no permission: the admin shows such a user nothing."""
    return User.objects.create_user("bare", password=PASSWORD, is_staff=True)


@pytest.fixture
def group_clerk(db) -> User:
    user = User.objects.create_user("desk", password=PASSWORD, is_staff=True)
    user.groups.add(ensure_clerk_group())
    return user


def _requests(source: Account, target: Account, empty: Account) -> list[tuple[str, str, dict]]:
    version = {"version": source.version}
    status_change = {**version, "reason": "Test"}
    return [
        ("post", f"/api/accounts/{source.iban}/deposit/", {"amount": "1.00", "reason": "Test"}),
        ("post", f"/api/accounts/{source.iban}/withdraw/", {"amount": "1.00", "reason": "Test"}),
        (
            "post",
            "/api/transfers/",
            {"from_iban": source.iban, "to_iban": target.iban, "amount": "1.00", "reason": "Test"},
        ),
        ("patch", f"/api/accounts/{source.iban}/", {**version, "overdraft_limit": "5.00"}),
        ("post", f"/api/accounts/{source.iban}/freeze/", status_change),
        ("post", f"/api/accounts/{source.iban}/unfreeze/", status_change),
        ("post", f"/api/accounts/{empty.iban}/close/", {"version": empty.version, "reason": "T"}),
        ("post", "/api/accounts/", {"customer": source.customer_id, "currency": "EUR"}),
        ("post", "/api/customers/", {"name": "Nobody", "email": "nobody@example.com"}),
        ("get", "/api/accounts/", {}),
        ("get", f"/api/accounts/{source.iban}/", {}),
        ("get", f"/api/accounts/{source.iban}/ledger/", {}),
        ("get", "/api/customers/", {}),
    ]


def test_staff_without_permissions_are_refused_every_endpoint(bare_staff, open_account):
    source, target, empty = (open_account(balance=b) for b in (10_000, 0, 0))
    client = _client(bare_staff)
    for method, url, body in _requests(source, target, empty):
        answer = getattr(client, method)(url, body, format="json")
        assert answer.status_code == 403, (method, url, answer.content)
        assert answer.json()["code"] == "permission_denied"
    assert LedgerEntry.objects.filter(account__in=[source, target]).count() == 1
    source.refresh_from_db()
    assert (source.balance, source.status, source.overdraft_limit) == (10_000, "open", 0)
    assert Account.objects.count() == 3


def test_a_member_of_the_clerk_group_does_what_a_clerk_does(group_clerk, open_account):
    source, target, empty = (open_account(balance=b) for b in (10_000, 0, 0))
    client = _client(group_clerk)
    expected = [201, 201, 201, 200, 200, 200, 200, 201, 201, 200, 200, 200, 200]
    answers = []
    for method, url, body in _requests(source, target, empty):
        if "version" in body:  # each change moves the version on
            account = Account.objects.get(iban=url.split("/")[3])
            body = {**body, "version": account.version}
        answers.append(getattr(client, method)(url, body, format="json").status_code)
    assert answers == expected


def test_view_permission_reads_but_does_not_change(db, open_account):
    reader = User.objects.create_user("reader", password=PASSWORD, is_staff=True)
    reader.user_permissions.add(*Permission.objects.filter(codename="view_account"))
    account = open_account(balance=1_000)
    client = _client(reader)
    assert client.get(f"/api/accounts/{account.iban}/").status_code == 200
    deposit = client.post(f"/api/accounts/{account.iban}/deposit/", {"amount": "1.00"})
    assert deposit.status_code == 403


def test_staff_without_permissions_get_no_live_feed_of_every_account(bare_staff):
    answer = APIClient().post(
        "/api/auth/live-token/", {"username": "bare", "password": PASSWORD}, format="json"
    )
    assert answer.status_code == 403


def test_ensure_clerk_puts_the_local_clerk_in_the_clerk_group(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "head-clerk")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-test-password")
    call_command("ensure_clerk")
    clerk = User.objects.get(username="head-clerk")
    assert list(clerk.groups.values_list("name", flat=True)) == [CLERK_GROUP]
    group = clerk.groups.get()
    assert set(group.permissions.values_list("codename", flat=True)) >= {
        "view_account",
        "change_account",
        "add_account",
        "view_customer",
        "add_customer",
    }
