"""A burst of balance changes through the system of record, with and without crashes: every
change appears exactly once in bank.balance-changed, per-account sequences have no gaps, and
bank.balances agrees with the database."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict

import pytest

from events import topics
from tests.support import bank_db
from tests.support.stack_control import kill_hard, wait_restarted
from tests.support.teller import Booking, Teller
from tests.support.topics import end_offsets, latest_by_key, read

pytestmark = pytest.mark.integration

ACCOUNTS = 50
CHANGES = 1000


def burst(config, crash: str | None = None) -> tuple[list[Booking], dict[int, int]]:
    """Book the burst; when `crash` names a component, kill -9 it a third of the way in."""
    accounts = bank_db.open_accounts(config, ACCOUNTS)
    start = end_offsets(config.kafka_bootstrap, topics.BALANCE_CHANGED)
    crashed = threading.Event()
    restarts: list[int] = []

    def maybe_crash(index: int) -> None:
        if crash and index == CHANGES // 3 and not crashed.is_set():
            crashed.set()
            restarts.append(kill_hard(config, crash))

    bookings = Teller(config).burst([a.iban for a in accounts], CHANGES, on_progress=maybe_crash)
    if crash:
        assert crashed.is_set()
        wait_restarted(config, crash, restarts[0])
    return bookings, start


def derived_events(config, bookings: list[Booking], start: dict[int, int]) -> list[dict]:
    """The new balance-changed events, read until every booked ledger entry has its event."""
    wanted = {b.entry_id for b in bookings}

    def complete(records) -> bool:
        return wanted <= {r.value["ledger_entry_id"] for r in records}

    records = read(
        config.kafka_bootstrap, topics.BALANCE_CHANGED, start, until=complete, timeout=180
    )
    return [r.value for r in records if r.value["ledger_entry_id"] in wanted]


def assert_exactly_once_and_reconciled(config, bookings: list[Booking], events: list[dict]):
    by_id: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        by_id[event["event_id"]].append(event)
    # Exactly one event per booked change, carrying the booking's own ledger entry.
    assert len(by_id) == len(bookings)
    assert Counter(e[0]["ledger_entry_id"] for e in by_id.values()) == Counter(
        b.entry_id for b in bookings
    )
    for booking_events in by_id.values():
        first = booking_events[0]
        assert first["ledger_match"] == "matched"
        # A repeat after a crash is the same event: same id, same sequence, same amounts.
        for repeat in booking_events[1:]:
            assert {k: v for k, v in repeat.items() if k != "derived_at"} == {
                k: v for k, v in first.items() if k != "derived_at"
            }
    by_booking = {b.entry_id: b for b in bookings}
    for event in (e[0] for e in by_id.values()):
        booking = by_booking[event["ledger_entry_id"]]
        assert (event["delta"], event["new_balance"]) == (booking.amount, booking.balance_after)

    # Per account, sequences rise by exactly one per change: no gap, no second number.
    sequences: dict[str, list[int]] = defaultdict(list)
    for event in (e[0] for e in by_id.values()):
        sequences[event["iban"]].append(event["sequence"])
    for iban, seen in sequences.items():
        seen.sort()
        assert seen == list(range(seen[0], seen[0] + len(seen))), f"gap in {iban}: {seen}"

    # The latest balances topic equals the database, for every account of the bank.
    latest = latest_by_key(read(config.kafka_bootstrap, topics.BALANCES))
    database = bank_db.balances(config)
    derived = {k.decode(): v["balance"] for k, v in latest.items() if v is not None}
    assert {iban: derived.get(iban) for iban in database} == database
    return sum(len(e) - 1 for e in by_id.values())


def test_a_burst_of_1000_changes_over_50_accounts_is_derived_exactly_once(running_stack):
    bookings, start = burst(running_stack)
    repeats = assert_exactly_once_and_reconciled(
        running_stack, bookings, derived_events(running_stack, bookings, start)
    )
    assert repeats == 0


@pytest.mark.parametrize("component", ["soi", "connect"])
def test_a_component_killed_mid_burst_neither_loses_nor_duplicates_a_change(
    running_stack, component
):
    bookings, start = burst(running_stack, crash=component)
    repeats = assert_exactly_once_and_reconciled(
        running_stack, bookings, derived_events(running_stack, bookings, start)
    )
    print(f"{component} killed mid-burst: {repeats} repeated copies of already-derived events")
