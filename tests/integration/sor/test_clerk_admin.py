"""A clerk at the Django admin, over HTTP with Django's test client."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client

from kernel.settings import settings
from sor.bank import services
from sor.bank.models import Account, LedgerEntry

pytestmark = [pytest.mark.database, pytest.mark.django_db]

CHANGELIST = "/admin/bank/account/"


def _change_url(account: Account) -> str:
    return f"/admin/bank/account/{account.pk}/change/"


@pytest.fixture
def desk(clerk, sign_in_to_admin) -> Client:
    """The clerk's browser, signed in to the admin."""
    return sign_in_to_admin(clerk)


def _version_on_page(browser: Client, account: Account) -> int:
    page = browser.get(_change_url(account)).content.decode()
    return int(re.search(r'name="version" value="(\d+)"', page)[1])


def _entries(account: Account) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(account=account).order_by("id"))


def test_the_account_list_shows_balances_as_money_and_finds_by_iban_or_name(desk, open_account):
    account = open_account(balance=123_456)
    other = open_account(balance=0, currency="JPY")

    page = desk.get(CHANGELIST).content.decode()
    assert "1,234.56 EUR" in page and "0 JPY" in page

    grouped = str(account)
    found = desk.get(CHANGELIST, {"q": grouped}).content.decode()
    assert grouped in found and str(other) not in found
    assert grouped in desk.get(CHANGELIST, {"q": "de vries"}).content.decode()
    assert grouped in desk.get(CHANGELIST, {"q": "anna@example"}).content.decode()


def test_the_account_list_filters_by_status_and_currency(desk, open_account):
    frozen, open_ = open_account(), open_account(currency="USD")
    services.freeze(frozen.pk)
    page = desk.get(CHANGELIST, {"status__exact": "frozen"}).content.decode()
    assert str(frozen) in page and str(open_) not in page
    page = desk.get(CHANGELIST, {"currency": "USD"}).content.decode()
    assert str(open_) in page and str(frozen) not in page


def test_the_account_page_shows_the_balance_in_major_units_and_the_ledger(desk, open_account):
    account = open_account(balance=123_456)
    services.deposit(account.pk, 100, reason="Coins for the piggy bank")
    page = desk.get(_change_url(account)).content.decode()
    assert 'name="balance" value="1235.56"' in page
    assert 'type="hidden" name="version" value="3"' in page
    assert page.index("Coins for the piggy bank") < page.index("Opening balance"), "newest first"


def test_changing_the_balance_books_an_adjustment_by_the_clerk(desk, open_account):
    account = open_account(balance=10_000)
    answer = desk.post(
        _change_url(account),
        {"balance": "75.25", "reason": "Chargeback", "version": _version_on_page(desk, account)},
    )
    assert answer.status_code == 302
    account.refresh_from_db()
    assert (account.balance, account.version) == (7_525, 3)
    last = _entries(account)[-1]
    assert (last.kind, last.amount, last.reason) == ("adjustment", -2_475, "Chargeback")
    assert last.created_by_username == "clerk"


def test_a_changed_balance_without_a_reason_is_refused(desk, open_account):
    account = open_account(balance=10_000)
    page = desk.post(_change_url(account), {"balance": "1.00", "reason": "", "version": 2})
    assert page.status_code == 200
    assert "Give a reason" in page.content.decode()
    assert Account.objects.get(pk=account.pk).balance == 10_000


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("abc", "is not an amount"),
        ("12.345", "too many decimals"),
        ("1,000.00", "use a dot for the decimals"),
        ("", "This field is required"),
    ],
)
def test_bad_amounts_get_a_form_error_in_plain_words(desk, open_account, typed, says):
    account = open_account(balance=10_000)
    page = desk.post(_change_url(account), {"balance": typed, "reason": "x", "version": 2})
    assert page.status_code == 200
    assert says in page.content.decode()
    assert len(_entries(account)) == 1


def test_a_frozen_account_balance_cannot_be_changed(desk, open_account):
    account = open_account(balance=10_000)
    services.freeze(account.pk)
    page = desk.post(_change_url(account), {"balance": "0", "reason": "Write off", "version": 3})
    assert page.status_code == 200
    assert "is frozen; unfreeze it before moving money" in page.content.decode()
    assert Account.objects.get(pk=account.pk).balance == 10_000


def test_the_second_of_two_clerks_editing_at_once_is_told_and_nothing_is_written(
    clerk, second_clerk, sign_in_to_admin, open_account
):
    first_clerk, second_clerk = sign_in_to_admin(clerk), sign_in_to_admin(second_clerk)
    account = open_account(balance=10_000)
    first_saw = _version_on_page(first_clerk, account)
    second_saw = _version_on_page(second_clerk, account)

    first = first_clerk.post(
        _change_url(account), {"balance": "150.00", "reason": "Refund", "version": first_saw}
    )
    assert first.status_code == 302
    second = second_clerk.post(
        _change_url(account), {"balance": "50.00", "reason": "Fee", "version": second_saw}
    )

    assert second.status_code == 200
    assert "This account was changed by someone else meanwhile" in second.content.decode()
    account.refresh_from_db()
    assert account.balance == 15_000
    assert [entry.reason for entry in _entries(account)] == ["Opening balance", "Refund"]


def test_the_terms_are_edited_in_major_units(desk, open_account):
    account = open_account(balance=10_000)
    answer = desk.post(
        _change_url(account),
        {
            "balance": "100.00",
            "reason": "",
            "version": 2,
            "overdraft_limit": "250.00",
            "low_balance_threshold": "20",
        },
    )
    assert answer.status_code == 302
    account.refresh_from_db()
    assert (account.overdraft_limit, account.low_balance_threshold, account.version) == (
        25_000,
        2_000,
        3,
    )
    assert len(_entries(account)) == 1, "no balance change, no ledger entry"


def test_a_clerk_opens_an_account_with_an_opening_balance(desk, customer):
    answer = desk.post(
        "/admin/bank/account/add/",
        {
            "customer": customer.pk,
            "currency": "EUR",
            "opening_balance": "500.00",
            "overdraft_limit": "0",
            "low_balance_threshold": "",
        },
    )
    assert answer.status_code == 302
    account = Account.objects.get(customer=customer)
    assert account.balance == 50_000
    [opening] = _entries(account)
    assert (opening.kind, opening.created_by_username) == ("opening", "clerk")


def _action(desk: Client, action: str, accounts: list[Account], **form: str):
    data = {"action": action, ACTION_CHECKBOX_NAME: [a.pk for a in accounts], **form}
    return desk.post(CHANGELIST, data)


def test_a_deposit_action_asks_for_amount_and_reason_then_books_on_each_account(desk, open_account):
    accounts = [open_account(balance=1_000), open_account(balance=0)]
    form_page = _action(desk, "deposit", accounts)
    assert form_page.status_code == 200
    assert 'name="amount"' in form_page.content.decode()

    done = _action(desk, "deposit", accounts, apply="1", amount="20.00", reason="Bonus")
    assert done.status_code == 302
    assert [Account.objects.get(pk=a.pk).balance for a in accounts] == [3_000, 2_000]
    assert _entries(accounts[0])[-1].created_by_username == "clerk"


def test_a_withdrawal_that_one_account_cannot_cover_books_nothing(desk, open_account):
    rich, poor = open_account(balance=100_000), open_account(balance=500)
    page = _action(desk, "withdraw", [rich, poor], apply="1", amount="10.00", reason="Fee")
    assert page.status_code == 200
    assert "Nothing was booked" in page.content.decode()
    assert [Account.objects.get(pk=a.pk).balance for a in (rich, poor)] == [100_000, 500]


@pytest.mark.parametrize(("typed", "says"), [("-5", "more than zero"), ("ten", "not an amount")])
def test_the_deposit_form_refuses_bad_amounts(desk, open_account, typed, says):
    account = open_account()
    page = _action(desk, "deposit", [account], apply="1", amount=typed, reason="x")
    assert says in page.content.decode()
    assert _entries(account) == []


def test_a_transfer_action_checks_the_iban_then_moves_the_money(desk, open_account):
    source, target = open_account(balance=10_000), open_account()
    bad = _action(
        desk, "transfer", [source], apply="1", amount="1", reason="x", to_iban="NL00 LIVE 1"
    )
    assert "is not an IBAN" in bad.content.decode()

    done = _action(
        desk, "transfer", [source], apply="1", amount="25", reason="Rent", to_iban=str(target)
    )
    assert done.status_code == 302
    assert Account.objects.get(pk=target.pk).balance == 2_500


def test_freeze_unfreeze_and_close_ask_first_and_keep_the_reason_with_the_clerk(desk, open_account):
    account = open_account()
    for action, status, reason in [
        ("freeze", "frozen", "Card reported stolen"),
        ("unfreeze", "open", "Card found"),
        ("close", "closed", "Customer moved abroad"),
    ]:
        asked = _action(desk, action, [account])
        assert asked.status_code == 200, "nothing happens before the clerk confirms"
        assert f"{action.capitalize()} 1 account" in asked.content.decode()
        assert Account.objects.get(pk=account.pk).status != status
        no_reason = _action(desk, action, [account], apply="1", reason=" ")
        assert "Give a reason" in no_reason.content.decode()

        done = _action(desk, action, [account], apply="1", reason=reason)
        assert done.status_code == 302
        changed = Account.objects.get(pk=account.pk)
        assert (changed.status, changed.status_reason) == (status, reason)
        assert changed.status_changed_by_username == "clerk"
        history = LogEntry.objects.filter(object_id=str(account.pk)).latest("action_time")
        assert (history.user.username, reason in history.change_message) == ("clerk", True)


def test_closing_an_account_with_money_shows_why_not(desk, open_account):
    account = open_account(balance=100)
    page = desk.post(
        CHANGELIST,
        {"action": "close", ACTION_CHECKBOX_NAME: [account.pk], "apply": "1", "reason": "Moved"},
        follow=True,
    )
    assert "still holds 1.00 EUR" in page.content.decode()
    assert Account.objects.get(pk=account.pk).status == "open"


def test_the_ledger_is_read_only_in_the_admin(desk, open_account):
    account = open_account(balance=100)
    entry = _entries(account)[0]
    assert desk.get("/admin/bank/ledgerentry/").status_code == 200
    assert desk.get("/admin/bank/ledgerentry/add/").status_code == 403
    page = desk.post(f"/admin/bank/ledgerentry/{entry.pk}/change/", {"amount": 1})
    assert page.status_code == 403
    assert LedgerEntry.objects.get(pk=entry.pk).amount == 100


def test_a_staff_member_who_may_only_view_sees_accounts_but_cannot_move_money(
    django_user_model, sign_in_to_admin, open_account
):
    viewer = django_user_model.objects.create_user(
        "viewer", password="clerk-test-password", is_staff=True
    )
    viewer.user_permissions.add(Permission.objects.get(codename="view_account"))
    browser = sign_in_to_admin(viewer)
    account = open_account(balance=10_000)

    page = browser.get(_change_url(account))
    assert page.status_code == 200
    assert "100.00 EUR" in page.content.decode()
    assert 'value="deposit"' not in browser.get(CHANGELIST).content.decode()
    _action(browser, "deposit", [account], apply="1", amount="1", reason="x")
    assert Account.objects.get(pk=account.pk).balance == 10_000


def test_a_ledger_entrys_page_reads_amounts_as_money(desk, open_account):
    account = open_account(balance=1_219_500)
    entry = services.withdraw(account.pk, 4_500, reason="Cash at the counter")
    page = desk.get(f"/admin/bank/ledgerentry/{entry.pk}/change/").content.decode()
    assert "-45.00 EUR" in page and "12,150.00 EUR" in page
    assert "-4500" not in page and "1215000" not in page


def test_the_bank_comes_first_and_view_site_opens_the_dashboard(desk):
    page = desk.get("/admin/").content.decode()
    assert page.index("app-bank") < page.index("app-auth")
    dashboard = settings().dashboard_origins[0] + "/"
    assert f'href="{dashboard}"' in page and "View site" in page


def test_the_action_pages_lay_out_label_field_and_help_as_the_admin_does(desk, open_account):
    page = _action(desk, "deposit", [open_account()]).content.decode()
    assert '<fieldset class="module aligned">' in page
    assert 'class="form-row' in page and 'class="help"' in page
    assert "bank/admin.css" in desk.get(CHANGELIST).content.decode()
