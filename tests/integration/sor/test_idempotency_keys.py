"""Money-moving POSTs with an Idempotency-Key book once, however often they are retried."""

import threading

import pytest
from django.db import connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from sor.bank import services
from sor.bank.models import Account, LedgerEntry

pytestmark = pytest.mark.database


def _deposit(api, account, key, amount="10.00"):
    return api.post(
        f"/api/accounts/{account.iban}/deposit/",
        {"amount": amount, "reason": "Salary"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


@pytest.mark.django_db
def test_a_retry_with_the_same_key_and_body_gets_the_first_answer_and_books_once(api, open_account):
    account = open_account(balance=0)
    first = _deposit(api, account, "salary-2026-11")
    again = _deposit(api, account, "salary-2026-11")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Account.objects.get(pk=account.pk).balance == 1_000
    entry = LedgerEntry.objects.get(account=account, kind="deposit")
    assert entry.idempotency_key == "salary-2026-11"


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused(api, open_account):
    account = open_account(balance=0)
    _deposit(api, account, "key-1", amount="10.00")
    answer = _deposit(api, account, "key-1", amount="99.00")
    assert answer.status_code == 422
    assert answer.json()["code"] == "idempotency_key_reused"
    assert Account.objects.get(pk=account.pk).balance == 1_000


@pytest.mark.django_db
def test_a_refused_booking_keeps_nothing_so_the_key_can_be_retried(api, open_account):
    account = open_account(balance=0)
    refused = api.post(
        f"/api/accounts/{account.iban}/withdraw/",
        {"amount": "5", "reason": "Cash"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="rent",
    )
    assert refused.status_code == 409
    services.deposit(account.pk, 1_000, reason="Top-up")
    retried = api.post(
        f"/api/accounts/{account.iban}/withdraw/",
        {"amount": "5", "reason": "Cash"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="rent",
    )
    assert retried.status_code == 201
    assert Account.objects.get(pk=account.pk).balance == 500


@pytest.mark.django_db
def test_a_transfer_retried_with_its_key_moves_money_once(api, open_account):
    source, target = open_account(balance=10_000), open_account()
    order = {"from_iban": source.iban, "to_iban": target.iban, "amount": "30", "reason": "Rent"}
    answers = [
        api.post("/api/transfers/", order, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
        for _ in range(3)
    ]
    assert {answer.json()["transfer_id"] for answer in answers} == {
        answers[0].json()["transfer_id"]
    }
    assert Account.objects.get(pk=target.pk).balance == 3_000


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "has spaces", "x" * 256, "naïve"])
def test_a_malformed_key_is_a_400(api, open_account, key):
    account = open_account()
    answer = _deposit(api, account, key)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_idempotency_key"


@pytest.mark.django_db
def test_keys_belong_to_the_user_who_sent_them(api, open_account, second_clerk):
    account = open_account()
    other = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=second_clerk).key}")
    assert _deposit(api, account, "shared-name").status_code == 201
    assert _deposit(other, account, "shared-name").status_code == 201
    assert Account.objects.get(pk=account.pk).balance == 2_000


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_book_once(clerk, open_account):
    account = open_account()
    token = Token.objects.create(user=clerk).key
    answers = []

    def retry() -> None:
        try:
            client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
            answers.append(_deposit(client, account, "double-click"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [answer.status_code for answer in answers] == [201] * 6
    assert len({answer.json()["entry"]["id"] for answer in answers}) == 1
    assert Account.objects.get(pk=account.pk).balance == 1_000
