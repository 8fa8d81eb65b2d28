import pytest

from soe.accounts import AccountBook
from tests.support.soe_factories import balance_state, change, changes

pytestmark = pytest.mark.unit
IBAN = "DE44500105175407324931"


@pytest.fixture
def book() -> AccountBook:
    return AccountBook(history_per_account=5)


def test_the_latest_state_of_an_account_comes_from_bank_balances(book):
    created = book.apply_balance(balance_state(IBAN, balance=500, sequence=3))
    assert created.created
    account = book.get(IBAN)
    assert (account.balance, account.sequence, account.customer_id) == (500, 3, 7)
    assert book.owned_by(7) == [account]


def test_a_tombstone_forgets_the_account_and_its_owner(book):
    book.apply_balance(balance_state(IBAN))
    assert book.remove(IBAN) is not None
    assert book.get(IBAN) is None
    assert book.owned_by(7) == []
    assert book.remove(IBAN) is None


def test_a_change_moves_the_balance_and_is_kept_for_resume(book):
    book.apply_balance(balance_state(IBAN, balance=10_000, sequence=0))
    assert book.apply_change(change(IBAN, 1, old=10_000, delta=250))
    account = book.get(IBAN)
    assert (account.balance, account.sequence) == (10_250, 1)
    assert [e["sequence"] for e in account.history] == [1]


def test_a_replayed_change_is_recognised_and_dropped(book):
    book.apply_change(change(IBAN, 1))
    book.apply_change(change(IBAN, 2))
    assert not book.apply_change(change(IBAN, 2))
    assert not book.apply_change(change(IBAN, 1))
    assert [e["sequence"] for e in book.get(IBAN).history] == [1, 2]


def test_an_older_latest_state_does_not_undo_a_newer_change(book):
    book.apply_change(change(IBAN, 4, old=100, delta=50))
    book.apply_balance(balance_state(IBAN, balance=100, sequence=3, status="frozen"))
    account = book.get(IBAN)
    assert (account.balance, account.sequence, account.status) == (150, 4, "frozen")


def test_a_latest_state_ahead_of_the_changes_is_taken(book):
    book.apply_change(change(IBAN, 1, old=100, delta=50))
    book.apply_balance(balance_state(IBAN, balance=999, sequence=2))
    assert (book.get(IBAN).balance, book.get(IBAN).sequence) == (999, 2)
    assert book.apply_change(change(IBAN, 2, old=150, delta=849))
    assert book.get(IBAN).balance == 999


def test_history_is_bounded(book):
    for event in changes(IBAN, 1, 12):
        book.apply_change(event)
    assert [e["sequence"] for e in book.get(IBAN).history] == [8, 9, 10, 11, 12]


def test_history_restarts_after_a_gap_so_it_never_claims_what_it_lacks(book):
    for event in changes(IBAN, 1, 3):
        book.apply_change(event)
    book.apply_change(change(IBAN, 6))
    assert [e["sequence"] for e in book.get(IBAN).history] == [6]
    assert book.missed_since(book.get(IBAN), 3) is None


def test_resume_returns_exactly_the_missed_changes(book):
    for event in changes(IBAN, 1, 5):
        book.apply_change(event)
    account = book.get(IBAN)
    assert [e["sequence"] for e in book.missed_since(account, 2)] == [3, 4, 5]
    assert [e["sequence"] for e in book.missed_since(account, 0)] == [1, 2, 3, 4, 5]
    assert book.missed_since(account, 5) == []


def test_resume_older_than_the_history_needs_a_fresh_snapshot(book):
    for event in changes(IBAN, 1, 12):
        book.apply_change(event)
    account = book.get(IBAN)
    assert book.missed_since(account, 6) is None
    assert [e["sequence"] for e in book.missed_since(account, 7)] == [8, 9, 10, 11, 12]


def test_resume_from_a_sequence_the_gateway_never_saw_needs_a_fresh_snapshot(book):
    for event in changes(IBAN, 1, 3):
        book.apply_change(event)
    assert book.missed_since(book.get(IBAN), 9) is None


def test_resume_of_an_account_without_history_needs_a_fresh_snapshot(book):
    book.apply_balance(balance_state(IBAN, sequence=4))
    assert book.missed_since(book.get(IBAN), 2) is None
    assert book.missed_since(book.get(IBAN), 4) == []


def test_an_account_changing_owner_moves_between_customers(book):
    book.apply_balance(balance_state(IBAN, customer_id=7))
    moved = book.apply_balance(balance_state(IBAN, customer_id=8))
    assert moved.previous_owner == 7
    assert book.owned_by(7) == []
    assert [a.iban for a in book.owned_by(8)] == [IBAN]
