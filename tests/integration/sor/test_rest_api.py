"""Every REST endpoint's success and error paths; errors are JSON with a code and a message."""

import pytest
from rest_framework.test import APIClient

from sor.bank import iban, services
from sor.bank.models import Account, LedgerEntry

pytestmark = [pytest.mark.database, pytest.mark.django_db]

# A valid IBAN that no account has.
UNKNOWN_IBAN = "NL" + iban.check_digits("NL", "LIVE0000000000") + "LIVE0000000000"


def _error(answer, status: int, code: str) -> str:
    assert answer.status_code == status, answer.content
    body = answer.json()
    assert body["code"] == code, body
    assert body["message"]
    return body["message"]


# Tokens and permissions


def test_staff_get_an_api_token_with_username_and_password(clerk):
    answer = APIClient().post(
        "/api/auth/token/", {"username": "clerk", "password": "clerk-test-password"}
    )
    assert answer.status_code == 200
    token = answer.json()["token"]
    signed_in = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert signed_in.get("/api/accounts/").status_code == 200


def test_a_wrong_password_gets_no_token(clerk):
    answer = APIClient().post("/api/auth/token/", {"username": "clerk", "password": "guess"})
    _error(answer, 401, "wrong_credentials")


def test_a_customer_gets_no_api_token(django_user_model):
    django_user_model.objects.create_user("anna", password="anna-password")
    answer = APIClient().post("/api/auth/token/", {"username": "anna", "password": "anna-password"})
    assert "Only staff" in _error(answer, 403, "permission_denied")


def test_a_sign_in_without_a_password_is_bad_input():
    answer = APIClient().post("/api/auth/token/", {"username": "clerk"}, format="json")
    assert "password" in _error(answer, 400, "invalid")
    assert "password" in answer.json()["fields"]


def test_without_a_token_nothing_is_shown(db):
    _error(APIClient().get("/api/accounts/"), 401, "not_authenticated")


def test_a_signed_in_customer_cannot_move_money(django_user_model, open_account):
    account = open_account(balance=1_000)
    customer_user = django_user_model.objects.create_user("anna", password="pw")
    browser = APIClient()
    browser.force_authenticate(customer_user)
    answer = browser.post(f"/api/accounts/{account.iban}/withdraw/", {"amount": "10"})
    _error(answer, 403, "permission_denied")
    assert Account.objects.get(pk=account.pk).balance == 1_000


# Customers


def test_customers_are_created_listed_searched_and_shown(api, open_account):
    account = open_account()
    created = api.post("/api/customers/", {"name": "Jonas Berg", "email": "jonas@example.com"})
    assert created.status_code == 201
    jonas = created.json()

    listed = api.get("/api/customers/").json()
    assert listed["count"] == 2
    found = api.get("/api/customers/", {"search": "vries"}).json()["results"]
    assert [c["name"] for c in found] == ["Anna de Vries"]
    assert found[0]["accounts"] == [account.iban]
    assert api.get(f"/api/customers/{jonas['id']}/").json()["email"] == "jonas@example.com"


def test_a_customer_email_is_unique_and_must_be_an_email(api, customer):
    answer = api.post("/api/customers/", {"name": "Copy", "email": customer.email})
    assert "email" in _error(answer, 400, "invalid")
    answer = api.post("/api/customers/", {"name": "Copy", "email": "not-an-email"})
    _error(answer, 400, "invalid")


@pytest.mark.parametrize("customer_id", ["999999", "abc"])
def test_an_unknown_customer_is_a_404(api, customer_id):
    _error(api.get(f"/api/customers/{customer_id}/"), 404, "not_found")


# Accounts


def test_an_account_is_shown_by_iban_with_money_twice_and_an_etag(api, open_account):
    account = open_account(balance=123_456, overdraft=10_000)
    answer = api.get(f"/api/accounts/{account.iban.lower()}/")
    assert answer.status_code == 200
    assert answer["ETag"] == '"2"'
    body = answer.json()
    assert body["iban"] == account.iban
    assert (body["balance"], body["balance_minor"]) == ("1234.56", 123_456)
    assert (body["overdraft_limit"], body["low_balance_threshold"]) == ("100.00", None)
    assert (body["currency"], body["status"], body["version"]) == ("EUR", "open", 2)


@pytest.mark.parametrize("number", [UNKNOWN_IBAN, "not-an-iban"])
def test_an_unknown_iban_is_a_404(api, number):
    _error(api.get(f"/api/accounts/{number}/"), 404, "account_not_found")


def test_accounts_are_listed_by_customer_status_and_currency(api, customer, open_account):
    euros, dollars = open_account(), open_account(currency="USD")
    services.freeze(euros.pk)
    ibans = lambda **query: [a["iban"] for a in api.get("/api/accounts/", query).json()["results"]]  # noqa: E731
    assert ibans(customer=customer.pk) == [euros.iban, dollars.iban]
    assert ibans(status="frozen") == [euros.iban]
    assert ibans(currency="USD") == [dollars.iban]
    _error(api.get("/api/accounts/", {"customer": "x"}), 400, "invalid")


def test_an_account_is_opened_with_an_opening_balance(api, customer):
    answer = api.post(
        "/api/accounts/",
        {"customer": customer.pk, "currency": "JPY", "opening_balance": "5000"},
        format="json",
    )
    assert answer.status_code == 201
    body = answer.json()
    assert (body["balance"], body["balance_minor"], body["currency"]) == ("5000", 5000, "JPY")
    entry = LedgerEntry.objects.get(account__iban=body["iban"])
    assert (entry.kind, entry.created_by_username) == ("opening", "clerk")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"currency": "XYZ"}, "invalid"),
        ({"currency": "JPY", "opening_balance": "1.5"}, "invalid_amount"),
        ({"currency": "EUR", "opening_balance": "-1"}, "invalid_amount"),
        ({"currency": "EUR", "overdraft_limit": "-1"}, "invalid_amount"),
        ({"currency": "EUR", "customer": 999999}, "invalid"),
    ],
)
def test_opening_an_account_with_bad_input_is_a_400(api, customer, body, code):
    answer = api.post("/api/accounts/", {"customer": customer.pk, **body}, format="json")
    _error(answer, 400, code)
    assert not Account.objects.exists()


def test_the_ledger_is_paginated_newest_first(api, open_account):
    account = open_account(balance=100)
    for number in range(60):
        services.deposit(account.pk, 1, reason=f"Deposit {number}")
    first = api.get(f"/api/accounts/{account.iban}/ledger/").json()
    assert first["count"] == 61
    assert [e["reason"] for e in first["results"][:2]] == ["Deposit 59", "Deposit 58"]
    entry = first["results"][0]
    assert (entry["amount"], entry["amount_minor"], entry["balance_after"]) == ("0.01", 1, "1.60")
    second = api.get(first["next"]).json()
    assert second["results"][-1]["kind"] == "opening"
    _error(api.get(f"/api/accounts/{account.iban}/ledger/", {"page": "x"}), 404, "not_found")


# Deposits, withdrawals, transfers


def test_a_deposit_is_booked_and_answered_with_entry_and_account(api, open_account):
    account = open_account(balance=1_000)
    answer = api.post(
        f"/api/accounts/{account.iban}/deposit/", {"amount": "12.50", "reason": "Salary"}
    )
    assert answer.status_code == 201
    body = answer.json()
    assert (body["entry"]["kind"], body["entry"]["amount_minor"]) == ("deposit", 1_250)
    assert (body["entry"]["created_by"], body["entry"]["reason"]) == ("clerk", "Salary")
    assert (body["account"]["balance"], body["account"]["version"]) == ("22.50", 3)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_money_moves_only_with_a_reason_as_in_the_admin(api, open_account, reason):
    account, other = open_account(balance=1_000), open_account()
    movement = {"amount": "5"} if reason is None else {"amount": "5", "reason": reason}
    for url in (
        f"/api/accounts/{account.iban}/withdraw/",
        f"/api/accounts/{account.iban}/deposit/",
    ):
        _error(api.post(url, movement, format="json"), 400, "reason_required")
    order = {**movement, "from_iban": account.iban, "to_iban": other.iban}
    _error(api.post("/api/transfers/", order, format="json"), 400, "reason_required")
    assert LedgerEntry.objects.filter(account=account).count() == 1


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("-5", "invalid_amount"),
        ("0", "invalid_amount"),
        ("12.345", "invalid_amount"),
        ("twelve", "invalid_amount"),
        ("10000000.01", "invalid_amount"),
        (True, "invalid"),
        (None, "invalid"),
        ({"value": 1}, "invalid"),
    ],
)
def test_bad_amounts_are_a_400_and_book_nothing(api, open_account, amount, code):
    account = open_account(balance=1_000)
    movement = {"amount": amount, "reason": "Bad amount"}
    answer = api.post(f"/api/accounts/{account.iban}/deposit/", movement, format="json")
    _error(answer, 400, code)
    assert LedgerEntry.objects.filter(account=account).count() == 1


def test_malformed_json_is_a_400(api, open_account):
    account = open_account()
    answer = api.generic(
        "POST",
        f"/api/accounts/{account.iban}/deposit/",
        '{"amount": ',
        content_type="application/json",
    )
    _error(answer, 400, "parse_error")


def test_withdrawing_more_than_the_overdraft_allows_is_a_409(api, open_account):
    account = open_account(balance=1_000, overdraft=500)
    answer = api.post(f"/api/accounts/{account.iban}/withdraw/", {"amount": "15.01", "reason": "x"})
    assert "cannot pay 15.01 EUR" in _error(answer, 409, "insufficient_funds")


def test_moving_money_on_a_frozen_account_is_a_409(api, open_account):
    account = open_account(balance=1_000)
    services.freeze(account.pk)
    answer = api.post(f"/api/accounts/{account.iban}/deposit/", {"amount": "1", "reason": "x"})
    assert "frozen" in _error(answer, 409, "account_not_open")


def test_a_transfer_moves_money_and_answers_with_both_entries(api, open_account):
    source, target = open_account(balance=10_000), open_account()
    answer = api.post(
        "/api/transfers/",
        {"from_iban": source.iban, "to_iban": str(target), "amount": "40", "reason": "Rent"},
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["debit"]["amount_minor"] == -4_000 and body["credit"]["amount_minor"] == 4_000
    assert body["debit"]["transfer_id"] == body["transfer_id"]
    assert Account.objects.get(pk=target.pk).balance == 4_000


def test_transfer_errors(api, open_account):
    source, dollars = open_account(balance=10_000), open_account(currency="USD")
    order = {"from_iban": source.iban, "amount": "1", "reason": "Rent"}
    _error(api.post("/api/transfers/", {**order, "to_iban": source.iban}), 400, "same_account")
    _error(
        api.post("/api/transfers/", {**order, "to_iban": dollars.iban}), 400, "currency_mismatch"
    )
    _error(api.post("/api/transfers/", {**order, "to_iban": "NL00LIVE"}), 400, "invalid_iban")
    answer = api.post("/api/transfers/", {**order, "to_iban": UNKNOWN_IBAN})
    _error(answer, 404, "account_not_found")
    _error(api.post("/api/transfers/", {"amount": "1"}), 400, "invalid")
    assert Account.objects.get(pk=source.pk).balance == 10_000


# Changing an account needs its version


def test_a_patch_without_a_version_is_refused(api, open_account):
    account = open_account(balance=1_000)
    answer = api.patch(f"/api/accounts/{account.iban}/", {"overdraft_limit": "5"})
    _error(answer, 428, "version_required")


def test_a_patch_with_the_current_etag_sets_balance_and_terms(api, open_account):
    account = open_account(balance=1_000)
    etag = api.get(f"/api/accounts/{account.iban}/")["ETag"]
    answer = api.patch(
        f"/api/accounts/{account.iban}/",
        {"balance": "7.00", "reason": "Correction", "low_balance_threshold": "2.50"},
        HTTP_IF_MATCH=etag,
    )
    assert answer.status_code == 200, answer.content
    assert answer["ETag"] == '"3"'
    body = answer.json()
    assert (body["balance"], body["low_balance_threshold"], body["version"]) == ("7.00", "2.50", 3)
    entry = LedgerEntry.objects.filter(account=account).first()
    assert (entry.kind, entry.amount, entry.reason) == ("adjustment", -300, "Correction")


def test_a_patch_with_a_stale_etag_is_a_412_and_with_a_stale_version_a_409(api, open_account):
    account = open_account(balance=1_000)
    services.deposit(account.pk, 1, reason="Meanwhile")
    url = f"/api/accounts/{account.iban}/"
    stale = api.patch(url, {"balance": "0", "reason": "x"}, HTTP_IF_MATCH='"2"')
    assert "changed by someone else" in _error(stale, 412, "precondition_failed")
    stale = api.patch(url, {"balance": "0", "reason": "x", "version": 2}, format="json")
    _error(stale, 409, "version_conflict")
    _error(api.patch(url, {"balance": "0"}, HTTP_IF_MATCH="soon"), 400, "invalid")
    assert Account.objects.get(pk=account.pk).balance == 1_001


def test_a_patched_balance_needs_a_reason(api, open_account):
    account = open_account(balance=1_000)
    answer = api.patch(
        f"/api/accounts/{account.iban}/", {"balance": "0", "version": 2}, format="json"
    )
    _error(answer, 400, "reason_required")


def test_freeze_unfreeze_and_close_need_the_version(api, open_account):
    account = open_account()
    url = f"/api/accounts/{account.iban}"
    why = {"reason": "Card reported stolen"}
    _error(api.post(f"{url}/freeze/", why), 428, "version_required")
    frozen = api.post(f"{url}/freeze/", {**why, "version": 1})
    assert frozen.json()["status"] == "frozen"
    _error(api.post(f"{url}/unfreeze/", {**why, "version": 1}), 409, "version_conflict")
    assert (
        api.post(f"{url}/unfreeze/", why, HTTP_IF_MATCH=frozen["ETag"]).json()["status"] == "open"
    )
    assert api.post(f"{url}/close/", {**why, "version": 3}).json()["status"] == "closed"


@pytest.mark.parametrize(
    ("action", "status", "reason"),
    [
        ("freeze", "frozen", "Card reported stolen; call us on 0800 1234"),
        ("unfreeze", "open", "Card found by its owner"),
        ("close", "closed", "Closed at the customer's request"),
    ],
)
def test_a_status_change_keeps_the_reason_and_who_gave_it(
    api, open_account, action, status, reason
):
    account = open_account()
    if action == "unfreeze":
        services.freeze(account.pk, reason="Before the test")
        account.refresh_from_db()
    answer = api.post(
        f"/api/accounts/{account.iban}/{action}/",
        {"version": account.version, "reason": f"  {reason} "},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    account.refresh_from_db()
    assert (account.status, account.status_reason) == (status, reason)
    assert account.status_changed_by_username == "clerk"


@pytest.mark.parametrize("action", ["freeze", "unfreeze", "close"])
@pytest.mark.parametrize("reason", [None, "", "   ", "x" * 1001])
def test_a_status_change_without_a_reason_is_refused(api, open_account, action, reason):
    account = open_account()
    body = {"version": account.version}
    if reason is not None:
        body["reason"] = reason
    answer = api.post(f"/api/accounts/{account.iban}/{action}/", body, format="json")
    assert "reason" in _error(answer, 400, "invalid")
    assert "reason" in answer.json()["fields"]
    refreshed = Account.objects.get(pk=account.pk)
    assert (refreshed.status, refreshed.version) == (account.status, account.version)


def test_closing_an_account_with_money_is_a_409(api, open_account):
    account = open_account(balance=1)
    answer = api.post(
        f"/api/accounts/{account.iban}/close/", {"version": 2, "reason": "Moving abroad"}
    )
    _error(answer, 409, "balance_not_zero")


def test_the_schema_says_a_status_change_needs_a_reason(api):
    schema = api.get("/api/schema/?format=json").json()
    body = schema["components"]["schemas"]["StatusChange"]
    assert "reason" in body["required"]
    for action in ("freeze", "unfreeze", "close"):
        operation = schema["paths"][f"/api/accounts/{{iban}}/{action}/"]["post"]
        content = operation["requestBody"]["content"]["application/json"]["schema"]
        assert content["$ref"].endswith("/StatusChange")


# Documentation and unknown paths


def test_the_openapi_schema_and_docs_are_served(db):
    schema = APIClient().get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/accounts/{iban}/deposit/" in schema.content
    assert APIClient().get("/api/docs/").status_code == 200


def test_an_unknown_api_path_is_a_json_404(db):
    _error(APIClient().get("/api/nowhere/"), 404, "not_found")
