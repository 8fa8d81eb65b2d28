"""An account row written into MariaDB around the bank's code (an unknown status, a balance out
of range or below the overdraft limit) is answered with a clear error, never a 500, and never
changed; the admin says what is wrong with it."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from sor.bank.models import Account, LedgerEntry

pytestmark = [pytest.mark.database, pytest.mark.django_db]

BROKEN_ROWS = {
    "unknown status": ("status", "'vanished'", "status 'vanished' is not one the bank knows"),
    "huge balance": ("balance", str(2**63 - 1), "beyond what it may hold"),
    "below the overdraft limit": ("balance", "-500", "below its overdraft limit"),
    "negative overdraft limit": ("overdraft_limit", "-1", "overdraft limit of -1"),
    "unknown currency": ("currency", "'XYZ'", "currency 'XYZ' is not one the bank keeps"),
}


def _write_around_the_bank(account: Account, column: str, value: str) -> None:
    """What someone with SQL access could do: the table's CHECK constraints switched off."""
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION check_constraint_checks = 0")
        try:
            cursor.execute(f"UPDATE account SET {column} = {value} WHERE id = %s", [account.pk])
        finally:
            cursor.execute("SET SESSION check_constraint_checks = 1")


@pytest.fixture(params=list(BROKEN_ROWS), ids=list(BROKEN_ROWS))
def broken(request, open_account):
    column, value, says = BROKEN_ROWS[request.param]
    account = open_account(balance=1_000)
    _write_around_the_bank(account, column, value)
    return account, says


def _broken_answer(answer, says: str) -> None:
    assert answer.status_code == 409, answer.content
    body = answer.json()
    assert body["code"] == "account_broken"
    assert says in body["message"]


def test_the_api_reads_a_broken_account_as_a_clear_409(api, broken):
    account, says = broken
    _broken_answer(api.get(f"/api/accounts/{account.iban}/"), says)
    _broken_answer(api.get(f"/api/accounts/{account.iban}/ledger/"), says)


def test_the_api_changes_nothing_on_a_broken_account(api, broken, open_account):
    account, says = broken
    other = open_account(balance=1_000)
    before = Account.objects.filter(pk=account.pk).values().get()
    version = {"version": before["version"], "reason": "Test"}
    for method, url, body in [
        ("post", f"/api/accounts/{account.iban}/deposit/", {"amount": "1.00"}),
        ("post", f"/api/accounts/{account.iban}/withdraw/", {"amount": "1.00"}),
        ("patch", f"/api/accounts/{account.iban}/", {**version, "overdraft_limit": "1.00"}),
        ("post", f"/api/accounts/{account.iban}/freeze/", version),
        ("post", f"/api/accounts/{account.iban}/close/", version),
        (
            "post",
            "/api/transfers/",
            {"from_iban": other.iban, "to_iban": account.iban, "amount": "1.00"},
        ),
    ]:
        _broken_answer(getattr(api, method)(url, body, format="json"), says)
    assert Account.objects.filter(pk=account.pk).values().get() == before
    assert LedgerEntry.objects.filter(account__in=[account, other]).count() == 2


def test_listing_accounts_answers_despite_a_broken_one(api, broken):
    account, _ = broken
    answer = api.get("/api/accounts/")
    assert answer.status_code == 200, answer.content
    assert account.iban in [row["iban"] for row in answer.json()["results"]]


def test_the_admin_shows_a_broken_account_and_says_what_is_wrong(clerk, broken, sign_in_to_admin):
    account, says = broken
    desk = sign_in_to_admin(clerk)
    listing = desk.get("/admin/bank/account/")
    assert listing.status_code == 200
    page = desk.get(f"/admin/bank/account/{account.pk}/change/")
    assert page.status_code == 200
    assert says.replace("'", "&#x27;") in page.content.decode()
    assert 'name="_save"' not in page.content.decode(), "shown read-only"
    customer = desk.get(f"/admin/bank/customer/{account.customer_id}/change/")
    assert customer.status_code == 200


def test_the_admin_refuses_to_move_money_on_a_broken_account(clerk, broken, sign_in_to_admin):
    account, says = broken
    desk = sign_in_to_admin(clerk)
    before = Account.objects.filter(pk=account.pk).values().get()
    page = desk.post(
        "/admin/bank/account/",
        {
            "action": "deposit",
            "_selected_action": [account.pk],
            "apply": "1",
            "amount": "1.00",
            "reason": "Test",
        },
        follow=True,
    )
    assert page.status_code == 200
    assert says.replace("'", "&#x27;") in page.content.decode()
    assert Account.objects.filter(pk=account.pk).values().get() == before


def test_a_live_token_sign_in_is_not_disturbed_by_a_broken_account(broken, clerk):
    answer = APIClient().post(
        "/api/auth/live-token/", {"username": "clerk", "password": "clerk-test-password"}
    )
    assert answer.status_code == 200


def test_check_ledger_names_a_balance_off_its_ledger_and_entries_of_a_missing_account(
    open_account, capsys
):
    account = open_account(balance=1_000)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE account SET balance = 1234 WHERE id = %s", [account.pk])
        cursor.execute("SET SESSION foreign_key_checks = 0")
        try:
            cursor.execute(
                "INSERT INTO ledger_entry (account_id, amount, balance_after, kind, reason, "
                "created_by_username, created_at) "
                "VALUES (987654, 100, 100, 'deposit', 'x', '', UTC_TIMESTAMP(6))"
            )
        finally:
            cursor.execute("SET SESSION foreign_key_checks = 1")
    with pytest.raises(CommandError, match="1 of 1 accounts do not match their ledger; 1 missing"):
        call_command("check_ledger")
    err = capsys.readouterr().err
    assert f"{account.iban}: balance 12.34 EUR, but its 1 ledger entries add up to 10.00" in err
    assert "1 ledger entries belong to account id 987654, which does not exist" in err
