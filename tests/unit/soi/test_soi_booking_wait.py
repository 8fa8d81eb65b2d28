"""A batch holding a new ledger entry waits for its account's balance update (the same database
transaction) only while that update has not arrived: it never waits for a booking that is
complete, and it does not stop waiting because some other record came first."""

from __future__ import annotations

import json

import pytest

from soi.pipeline import open_bookings

pytestmark = pytest.mark.unit


def _key(account: int) -> bytes:
    return json.dumps({"account_id": account}, separators=(",", ":")).encode()


def _envelope(table: str, op: str, row: dict) -> bytes:
    # Debezium's JSON converter writes no spaces.
    envelope = {"before": None, "after": row, "source": {"db": "bank", "table": table}, "op": op}
    return json.dumps(envelope, separators=(",", ":")).encode()


def ledger_entry(account: int, partition: int = 0) -> tuple[int, bytes, bytes]:
    row = {"id": 7, "account_id": account, "amount": "12.00", "reason": '"table":"account"'}
    return partition, _key(account), _envelope("ledger_entry", "c", row)


def account_update(account: int, partition: int = 0) -> tuple[int, bytes, bytes]:
    return partition, _key(account), _envelope("account", "u", {"id": account})


def test_an_entry_without_its_balance_update_waits():
    assert open_bookings([ledger_entry(5)])


def test_an_entry_followed_by_its_balance_update_does_not_wait():
    assert not open_bookings([ledger_entry(5), account_update(5)])


def test_another_record_arriving_first_does_not_end_the_wait():
    # The old wait ended on whichever record came next: here another booking's entry, on
    # another partition, while account 5's update was still on its way.
    batch = [ledger_entry(5, partition=0), ledger_entry(9, partition=3), account_update(9, 3)]
    assert open_bookings(batch)
    assert not open_bookings([*batch, account_update(5, 0)])


def test_an_open_booking_in_the_middle_of_the_batch_waits_too():
    batch = [ledger_entry(5, partition=0), account_update(9, partition=3)]
    assert open_bookings(batch)


def test_another_accounts_update_does_not_close_the_booking():
    assert open_bookings([ledger_entry(5), account_update(6)])


def test_an_account_change_alone_and_a_tombstone_never_wait():
    assert not open_bookings([account_update(5), (0, _key(5), None)])
    deleted_entry = (0, _key(5), _envelope("ledger_entry", "d", {"id": 7}))
    assert not open_bookings([deleted_entry])


def test_the_wait_goes_on_from_what_is_already_open():
    waiting = open_bookings([ledger_entry(5, partition=0), ledger_entry(9, partition=3)])
    assert waiting == {(0, _key(5)), (3, _key(9))}
    waiting = open_bookings([account_update(9, partition=3)], waiting)
    assert waiting == {(0, _key(5))}
    assert not open_bookings([account_update(5, partition=0)], waiting)
