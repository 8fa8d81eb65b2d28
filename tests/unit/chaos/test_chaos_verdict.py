"""The drill's verdict on what reached bank.balance-changed and what the watchers showed."""

import pytest

from bench.chaos import verdict
from bench.chaos.watchers import AccountView, WatcherReport
from bench.teller import Booking

pytestmark = pytest.mark.unit

IBAN = "NL53LIVE1476781926"


def booking(entry_id: int, amount: int, balance_after: int) -> Booking:
    return Booking(IBAN, entry_id, amount, balance_after)


def event(entry_id: int, sequence: int, old: int, new: int, event_id: str | None = None) -> dict:
    return {
        "event_id": event_id or f"sor:bank-bin.000001:{entry_id * 100}:0",
        "iban": IBAN,
        "ledger_entry_id": entry_id,
        "sequence": sequence,
        "old_balance": old,
        "new_balance": new,
        "delta": new - old,
    }


def judged(booked: list[Booking], events: list[dict]) -> verdict.Verdict:
    outcome = verdict.Verdict()
    verdict.judge_events(outcome, booked, events)
    return outcome


def test_every_booked_change_derived_once_is_a_clean_verdict():
    outcome = judged(
        [booking(1, 100, 1100), booking(2, 50, 1150)],
        [event(1, 7, 1000, 1100), event(2, 8, 1100, 1150)],
    )
    assert outcome.booked == 2
    assert outcome.problems == []


def test_a_booked_change_without_its_event_is_lost():
    outcome = judged([booking(1, 100, 1100), booking(2, 50, 1150)], [event(1, 7, 1000, 1100)])
    assert outcome.lost == [2]


def test_a_copy_under_the_same_id_is_a_repeat_and_fails_the_round():
    outcome = judged([booking(1, 100, 1100)], [event(1, 7, 1000, 1100)] * 2)
    assert (outcome.repeats, outcome.duplicated) == (1, [])
    assert outcome.problems == ["repeated: 1 events appear twice in bank.balance-changed"]


def test_one_change_under_two_event_ids_is_duplicated():
    outcome = judged(
        [booking(1, 100, 1100)],
        [event(1, 7, 1000, 1100, "sor:a:1:0"), event(1, 8, 1100, 1200, "sor:a:2:0")],
    )
    assert outcome.duplicated == [1]


def test_derived_amounts_must_be_the_ledgers():
    outcome = judged([booking(1, 100, 1100)], [event(1, 7, 1000, 1099)])
    assert len(outcome.wrong_amounts) == 1


def test_a_missing_sequence_is_a_gap_even_when_another_clerk_booked_it():
    outcome = judged(
        [booking(1, 100, 1100), booking(3, 10, 1160)],
        [event(1, 7, 1000, 1100), event(3, 9, 1150, 1160)],
    )
    assert outcome.sequence_gaps == [f"{IBAN}: sequences [8] missing"]


def test_a_watcher_with_a_gap_or_a_wrong_balance_is_reported():
    report = WatcherReport("steady-0", "steady", views={IBAN: AccountView(9, 1150)})
    report.gaps.append(f"{IBAN}: seq 7 then 9")
    outcome = verdict.Verdict()
    verdict.judge_watchers(outcome, [report], {IBAN: 1160})
    assert outcome.clients == [
        f"watcher steady-0: gap {IBAN}: seq 7 then 9",
        f"watcher steady-0: {IBAN} shows 1150, the database 1160",
    ]
