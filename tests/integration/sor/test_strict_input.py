"""Money is an ASCII decimal string, ids are whole numbers: anything else is a 400 naming the
field, and nothing is booked or opened."""

import pytest

from sor.bank.models import Account, LedgerEntry

pytestmark = [pytest.mark.database, pytest.mark.django_db]


def _refused(answer, field: str) -> dict:
    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert field in body["fields"], body
    assert field in body["message"], body
    return body


@pytest.mark.parametrize(
    "amount",
    [
        "\uff15",
        "\u0661\u0662",
        "\u00a05",
        "5\u00a0",
        "5\n",
        "\uff11.\uff10\uff10",
        12.5,
        5,
        0,
        True,
        None,
        ["5"],
    ],
)
def test_only_an_ascii_decimal_string_is_an_amount(api, open_account, amount):
    account = open_account(balance=1_000)
    answer = api.post(
        f"/api/accounts/{account.iban}/deposit/", {"amount": amount, "reason": "x"}, format="json"
    )
    _refused(answer, "amount")
    assert LedgerEntry.objects.filter(account=account).count() == 1


def test_a_transfer_amount_in_other_digits_is_refused(api, open_account):
    source, target = open_account(balance=1_000), open_account()
    answer = api.post(
        "/api/transfers/",
        {"from_iban": source.iban, "to_iban": target.iban, "amount": "\u0663"},
        format="json",
    )
    _refused(answer, "amount")


@pytest.mark.parametrize("field", ["opening_balance", "overdraft_limit", "low_balance_threshold"])
def test_account_opening_amounts_are_strict(api, customer, field):
    answer = api.post(
        "/api/accounts/", {"customer": customer.pk, field: "\uff11\uff10"}, format="json"
    )
    _refused(answer, field)
    assert not Account.objects.exists()


@pytest.mark.parametrize("customer_id", [1.5, "1.5", "²", "\u0661", True, "1 "])
def test_a_customer_id_is_a_whole_number(api, customer, customer_id):
    answer = api.post("/api/accounts/", {"customer": customer_id, "currency": "EUR"}, format="json")
    _refused(answer, "customer")
    assert not Account.objects.exists()


def test_a_customer_id_as_digits_in_a_string_is_still_read(api, customer):
    answer = api.post("/api/accounts/", {"customer": str(customer.pk)}, format="json")
    assert answer.status_code == 201, answer.content


@pytest.mark.parametrize("version", [1.5, "²", "\u0663", True])
def test_a_version_is_a_whole_number(api, open_account, version):
    account = open_account()
    answer = api.post(
        f"/api/accounts/{account.iban}/freeze/",
        {"version": version, "reason": "Test"},
        format="json",
    )
    _refused(answer, "version")
    account.refresh_from_db()
    assert account.status == "open"


@pytest.mark.parametrize("value", ["²", "\u0661", "1.5", "-1", " 1"])
def test_a_customer_filter_that_is_not_a_whole_number_is_a_400(api, customer, value):
    answer = api.get("/api/accounts/", {"customer": value})
    _refused(answer, "customer")


def test_a_patch_with_a_json_number_for_money_is_refused(api, open_account):
    account = open_account(balance=1_000)
    answer = api.patch(
        f"/api/accounts/{account.iban}/",
        {"version": account.version, "balance": 20.0, "reason": "Fix"},
        format="json",
    )
    _refused(answer, "balance")
    account.refresh_from_db()
    assert account.balance == 1_000
