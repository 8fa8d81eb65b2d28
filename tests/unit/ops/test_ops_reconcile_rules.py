"""What reconcile calls a mismatch: the database against the balances topic and the events."""

from __future__ import annotations

import pytest

from ops.database import AccountRow
from ops.reconcile import ABSENT, EventChain, check_account

pytestmark = pytest.mark.unit

IBAN = "NL00TEST"


def account(balance: int) -> AccountRow:
    return AccountRow(id=7, iban=IBAN, balance=balance, currency="EUR", status="open")


def state(balance: int, sequence: int) -> dict:
    return {"iban": IBAN, "balance": balance, "sequence": sequence}


def event(sequence: int, old: int, new: int, delta: int | None = None) -> dict:
    return {
        "event_id": f"sor:f:{sequence}:0",
        "sequence": sequence,
        "old_balance": old,
        "new_balance": new,
        "delta": new - old if delta is None else delta,
    }


def test_events_since_first_sight_add_up_from_the_first_old_balance():
    chain = EventChain([event(4, 1000, 1500), event(5, 1500, 1200)])

    assert chain.baseline == 1000
    assert chain.delta_sum == 200
    assert chain.balance == 1200
    assert chain.breaks() == []


def test_an_account_that_agrees_everywhere_is_no_mismatch():
    chain = EventChain([event(1, 0, 500), event(2, 500, 450)])

    assert check_account(IBAN, account(450), state(450, 2), chain) is None
    assert check_account(IBAN, account(450), state(450, 0), None) is None


def test_a_balances_topic_that_differs_is_a_mismatch():
    mismatch = check_account(IBAN, account(450), state(451, 0), None)

    assert mismatch is not None
    assert (mismatch.database, mismatch.balances_topic) == (450, 451)
    assert mismatch.problems == ["bank.balances differs"]


def test_events_whose_deltas_do_not_make_the_balance_are_a_mismatch():
    chain = EventChain([event(1, 0, 500, delta=505)])

    mismatch = check_account(IBAN, account(500), state(500, 1), chain)

    assert mismatch is not None
    assert mismatch.events == 505
    assert mismatch.problems == ["events differ: 0 before seq 1 +505 in 1 events"]


def test_a_missing_event_breaks_the_chain():
    chain = EventChain([event(1, 0, 500), event(3, 600, 700)])

    mismatch = check_account(IBAN, account(700), state(700, 3), chain)

    assert mismatch is not None
    assert "sequence jumps 1 → 3" in mismatch.problems


def test_an_account_missing_from_the_topic_or_deleted_there_is_a_mismatch():
    missing = check_account(IBAN, account(1), ABSENT, None)
    deleted = check_account(IBAN, account(1), None, None)

    assert missing is not None and missing.problems == ["missing from bank.balances"]
    assert deleted is not None and deleted.problems == ["deleted (tombstone) in bank.balances"]


def test_a_state_without_a_database_row_is_a_mismatch_but_deleted_history_is_not():
    orphan = check_account(IBAN, None, state(5, 0), None)

    assert orphan is not None
    assert orphan.problems == ["bank.balances holds it, the database does not"]
    assert check_account(IBAN, None, None, EventChain([event(1, 0, 5)])) is None
