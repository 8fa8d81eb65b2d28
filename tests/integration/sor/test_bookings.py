"""The bank's rules for money (sor.bank.services), against the real MariaDB."""

import pytest
from django.core.management import CommandError, call_command

from sor.bank import iban, services
from sor.bank.errors import (
    AccountNotOpen,
    BalanceNotZero,
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    ReasonRequired,
    SameAccount,
    StaleVersion,
)
from sor.bank.models import Account, LedgerEntry

pytestmark = [pytest.mark.database, pytest.mark.django_db]

Kind = LedgerEntry.Kind


def _fresh(account: Account) -> Account:
    return Account.objects.get(pk=account.pk)


def _entries(account: Account) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(account=account).order_by("id"))


def test_a_new_account_gets_a_valid_iban_and_its_opening_balance_as_first_entry(open_account):
    account = open_account(balance=10_000)
    assert iban.is_valid(account.iban)
    assert account.balance == 10_000
    assert account.version == 2
    [opening] = _entries(account)
    assert (opening.kind, opening.amount, opening.balance_after) == (Kind.OPENING, 10_000, 10_000)


def test_an_account_opened_empty_has_no_entries(open_account):
    account = open_account()
    assert (account.balance, account.version, _entries(account)) == (0, 1, [])


def test_an_account_cannot_open_with_a_negative_balance(customer):
    with pytest.raises(InvalidAmount, match="opens with zero or more"):
        services.open_account(customer, "EUR", opening_balance=-1)
    assert not Account.objects.exists()


def test_a_deposit_books_an_entry_and_raises_balance_and_version(open_account, clerk):
    account = open_account(balance=1_000)
    entry = services.deposit(account.pk, 2_550, reason="Cash at the counter", by=clerk)

    account = _fresh(account)
    assert account.balance == 3_550
    assert account.version == 3
    assert (entry.kind, entry.amount, entry.balance_after) == (Kind.DEPOSIT, 2_550, 3_550)
    assert entry.created_by == clerk
    assert entry.created_by_username == "clerk"
    assert entry.reason == "Cash at the counter"


def test_a_withdrawal_may_use_the_overdraft_to_its_limit_and_no_further(open_account):
    account = open_account(balance=1_000, overdraft=5_000)
    services.withdraw(account.pk, 6_000, reason="Rent")
    assert _fresh(account).balance == -5_000

    with pytest.raises(InsufficientFunds, match=r"cannot pay 0.01 EUR"):
        services.withdraw(account.pk, 1, reason="One cent too far")
    account = _fresh(account)
    assert account.balance == -5_000
    assert len(_entries(account)) == 2


@pytest.mark.parametrize("amount", [0, -100, services.MAX_AMOUNT + 1])
def test_amounts_must_be_positive_and_sane(open_account, amount):
    account = open_account(balance=1_000)
    with pytest.raises(InvalidAmount):
        services.deposit(account.pk, amount, reason="Bad amount")
    assert len(_entries(account)) == 1


def test_a_movement_needs_a_reason(open_account):
    account = open_account()
    with pytest.raises(ReasonRequired):
        services.deposit(account.pk, 100, reason="   ")


def test_no_money_moves_on_a_frozen_account_until_it_is_unfrozen(open_account):
    account = open_account(balance=1_000)
    other = open_account(balance=1_000)
    services.freeze(account.pk)

    with pytest.raises(AccountNotOpen, match="is frozen"):
        services.deposit(account.pk, 100, reason="Salary")
    with pytest.raises(AccountNotOpen, match="is frozen"):
        services.withdraw(account.pk, 100, reason="Cash")
    with pytest.raises(AccountNotOpen, match="is frozen"):
        services.transfer(other.pk, account.pk, 100, reason="Gift")
    assert _fresh(other).balance == 1_000

    services.unfreeze(account.pk)
    services.deposit(account.pk, 100, reason="Salary")
    assert _fresh(account).balance == 1_100


def test_freezing_twice_changes_nothing(open_account):
    account = open_account()
    frozen = services.freeze(account.pk)
    assert services.freeze(account.pk).version == frozen.version


def test_an_account_closes_only_when_empty_and_then_for_good(open_account):
    account = open_account(balance=500)
    with pytest.raises(BalanceNotZero, match=r"still holds 5.00 EUR"):
        services.close(account.pk)

    services.withdraw(account.pk, 500, reason="Paid out")
    services.close(account.pk)
    assert _fresh(account).status == Account.Status.CLOSED
    with pytest.raises(AccountNotOpen, match="closed"):
        services.deposit(account.pk, 100, reason="Too late")
    with pytest.raises(AccountNotOpen, match="closing is for good"):
        services.unfreeze(account.pk)


def test_a_transfer_moves_money_between_both_accounts_under_one_transfer_id(open_account):
    source, target = open_account(balance=10_000), open_account(balance=0)
    transfer = services.transfer(source.pk, target.pk, 2_500, reason="Savings")

    assert _fresh(source).balance == 7_500
    assert _fresh(target).balance == 2_500
    assert (transfer.debit.kind, transfer.debit.amount) == (Kind.TRANSFER_OUT, -2_500)
    assert (transfer.credit.kind, transfer.credit.amount) == (Kind.TRANSFER_IN, 2_500)
    assert transfer.debit.transfer_id == transfer.credit.transfer_id == transfer.transfer_id


def test_a_transfer_beyond_the_overdraft_moves_nothing_on_either_side(open_account):
    source, target = open_account(balance=1_000, overdraft=500), open_account(balance=0)
    with pytest.raises(InsufficientFunds):
        services.transfer(source.pk, target.pk, 1_501, reason="Too much")
    assert (_fresh(source).balance, _fresh(target).balance) == (1_000, 0)
    assert len(_entries(target)) == 0


def test_an_account_cannot_transfer_to_itself(open_account):
    account = open_account(balance=1_000)
    with pytest.raises(SameAccount):
        services.transfer(account.pk, account.pk, 100, reason="Loop")


def test_a_transfer_needs_both_accounts_in_one_currency(open_account):
    euros, dollars = open_account(balance=1_000), open_account(balance=1_000, currency="USD")
    with pytest.raises(CurrencyMismatch, match=r"holds EUR .* holds USD"):
        services.transfer(euros.pk, dollars.pk, 100, reason="Exchange")
    assert _fresh(euros).balance == 1_000


def test_an_adjustment_books_the_difference_to_the_target_balance(open_account, clerk):
    account = open_account(balance=10_000)
    adjusted = services.adjust(
        account.pk, 7_000, reason="Card fraud refund reversed", by=clerk, expected_version=2
    )
    assert (adjusted.balance, adjusted.version) == (7_000, 3)
    last = _entries(account)[-1]
    assert (last.kind, last.amount, last.balance_after) == (Kind.ADJUSTMENT, -3_000, 7_000)
    assert last.created_by_username == "clerk"


def test_an_adjustment_from_a_stale_version_is_refused_and_writes_nothing(open_account):
    account = open_account(balance=10_000)
    services.deposit(account.pk, 100, reason="Meanwhile")
    with pytest.raises(StaleVersion, match="changed by someone else meanwhile"):
        services.adjust(account.pk, 0, reason="Clean up", expected_version=2)
    assert _fresh(account).balance == 10_100
    assert len(_entries(account)) == 2


def test_an_adjustment_needs_a_reason_and_an_open_account(open_account):
    account = open_account(balance=10_000)
    with pytest.raises(ReasonRequired):
        services.adjust(account.pk, 0, reason="")
    services.freeze(account.pk)
    with pytest.raises(AccountNotOpen):
        services.adjust(account.pk, 0, reason="While frozen")


def test_an_adjustment_cannot_go_below_the_overdraft_limit(open_account):
    account = open_account(balance=0, overdraft=1_000)
    with pytest.raises(InsufficientFunds, match=r"below the overdraft limit of 10.00 EUR"):
        services.adjust(account.pk, -1_001, reason="Too deep")


def test_lowering_the_overdraft_below_a_negative_balance_is_refused(open_account):
    account = open_account(balance=0, overdraft=1_000)
    services.withdraw(account.pk, 800, reason="Groceries")
    with pytest.raises(InsufficientFunds):
        services.adjust(
            account.pk, -800, reason="", terms=services.Terms(500, None), expected_version=2
        )


def test_terms_change_with_one_version_and_no_ledger_entry(open_account):
    account = open_account(balance=1_000)
    changed = services.adjust(
        account.pk, 1_000, reason="", terms=services.Terms(20_000, 5_000), expected_version=2
    )
    assert (changed.overdraft_limit, changed.low_balance_threshold, changed.version) == (
        20_000,
        5_000,
        3,
    )
    assert len(_entries(account)) == 1


def test_the_ledger_check_passes_when_balances_match_and_names_any_mismatch(open_account, capsys):
    account = open_account(balance=1_000)
    services.deposit(account.pk, 500, reason="Top-up")
    call_command("check_ledger")
    assert "All 1 accounts match their ledgers (2 entries)" in capsys.readouterr().out

    Account.objects.filter(pk=account.pk).update(balance=1_499)
    with pytest.raises(CommandError, match="1 of 1 accounts do not match"):
        call_command("check_ledger")
    assert f"{account.iban}: balance 14.99 EUR" in capsys.readouterr().err
