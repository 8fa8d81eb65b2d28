"""A batch of money CDC records: what it publishes, what it remembers, what it refuses."""

from __future__ import annotations

import pytest

from events.position import SourcePosition
from soi.accounts import AccountMemory
from soi.alerts import PerCurrency, Thresholds
from soi.derivation import (
    ACCOUNT_BALANCE,
    BALANCE_CHANGED,
    DEAD_LETTER,
    MAX_DEAD_LETTER_VALUE,
    InputRecord,
    derive_batch,
)
from tests.support.cdc_envelopes import account, envelope, ledger_entry

pytestmark = pytest.mark.unit

THRESHOLDS = Thresholds(PerCurrency.parse("low", "0"), PerCurrency.parse("large", "10000000000"))
KNOWN = AccountMemory(SourcePosition("bank-bin.000002", 100, 0), sequence=4, balance=1000)


def record(value: bytes | None, offset: int, partition: int = 2) -> InputRecord:
    return InputRecord("sor.bank.money", partition, offset, b'{"account_id":7}', value)


def deposit(amount: int, old: int, pos: int, entry_id: int) -> list[bytes]:
    """A booking as the connector delivers it: the ledger entry, then the balance update."""
    gtid = f"0-1-{pos}"
    entry = ledger_entry(amount, old + amount, id=entry_id)
    return [
        envelope("c", None, entry, pos=pos, table="ledger_entry", gtid=gtid),
        envelope("u", account(old), account(old + amount), pos=pos + 1, gtid=gtid),
    ]


def derive(values: list[bytes | None], committed=None):
    records = [record(value, offset) for offset, value in enumerate(values, start=10)]
    return derive_batch(records, committed or {2: {"7": KNOWN}}, THRESHOLDS, lambda: 42)


def test_a_batch_of_bookings_publishes_each_change_in_order_and_remembers_once_per_account():
    batch = derive([*deposit(100, 1000, 200, 1), *deposit(-50, 1100, 300, 2)])

    changes = [o.value for o in batch.outputs if o.role == BALANCE_CHANGED]
    assert [(c["delta"], c["new_balance"], c["sequence"]) for c in changes] == [
        (100, 1100, 5),
        (-50, 1050, 6),
    ]
    assert all(c["ledger_match"] == "matched" for c in changes)
    latest = [o.value["balance"] for o in batch.outputs if o.role == ACCOUNT_BALANCE]
    assert latest == [1100, 1050]
    # One state write for the account, holding where the batch left it.
    assert list(batch.remembered) == [(2, "7")]
    assert batch.remembered[(2, "7")].sequence == 6
    assert batch.remembered[(2, "7")].balance == 1050


def test_the_committed_state_is_not_touched_by_the_batch():
    committed = {2: {"7": KNOWN}}
    derive(deposit(100, 1000, 200, 1), committed)

    assert committed == {2: {"7": KNOWN}}


def test_a_change_already_derived_is_not_published_again():
    batch = derive(deposit(100, 1000, 200, 1) * 2)

    assert len([o for o in batch.outputs if o.role == BALANCE_CHANGED]) == 1
    assert batch.redelivered == 1


def test_a_change_from_an_older_binlog_is_dropped_loudly(caplog):
    older = envelope("u", account(1000), account(1100), pos=900, file="bank-bin.000001")
    batch = derive([older])

    assert batch.outputs == []
    assert "the binlog went backwards" in caplog.text


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (account(1100, status="suspended"), "status 'suspended'"),
        (account(2**63), "not integer minor units"),
        (account(-200_000), "below the overdraft limit"),
        (account("1100"), "not integer minor units"),
    ],
)
def test_an_account_row_breaking_the_contract_is_a_dead_letter_and_the_batch_goes_on(row, reason):
    bad = envelope("u", account(1000), row, pos=200)
    batch = derive([bad, *deposit(100, 1000, 300, 1)])

    [dead] = [o for o in batch.outputs if o.role == DEAD_LETTER]
    assert reason in dead.value["reason"]
    assert (dead.value["offset"], dead.value["value"]) == (10, bad)
    assert [o.value["new_balance"] for o in batch.outputs if o.role == BALANCE_CHANGED] == [1100]


def test_a_balance_change_that_overflows_a_long_is_a_dead_letter():
    low = AccountMemory(SourcePosition("bank-bin.000002", 100, 0), sequence=1, balance=-100_000)
    bad = envelope("u", None, account(2**63 - 1), pos=200)
    batch = derive([bad], {2: {"7": low}})

    [dead] = batch.outputs
    assert dead.role == DEAD_LETTER
    assert "overflows" in dead.value["reason"]


def test_a_new_ledger_entry_for_an_unknown_account_is_a_dead_letter():
    entry = envelope("c", None, ledger_entry(100, 100, account_id=99), table="ledger_entry")
    batch = derive([entry])

    [dead] = batch.outputs
    assert dead.role == DEAD_LETTER
    assert "account 99, which is unknown" in dead.value["reason"]


def test_a_record_that_is_not_json_is_a_dead_letter():
    batch = derive([b"\xff not json"])

    [dead] = batch.outputs
    assert (dead.role, dead.value["value"]) == (DEAD_LETTER, b"\xff not json")


def test_a_huge_bad_record_is_cut_to_fit_a_dead_letter():
    batch = derive([b"x" * (MAX_DEAD_LETTER_VALUE + 10)])

    [dead] = batch.outputs
    assert len(dead.value["value"]) == MAX_DEAD_LETTER_VALUE
    assert f"cut from {MAX_DEAD_LETTER_VALUE + 10} bytes" in dead.value["reason"]


def test_a_tombstone_derives_nothing():
    assert derive([None]).outputs == []


def test_a_bug_is_not_a_dead_letter_but_stops_the_batch(monkeypatch):
    def broken(*_args, **_kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr("soi.derivation.on_account_change", broken)
    with pytest.raises(KeyError):
        derive(deposit(100, 1000, 200, 1))
