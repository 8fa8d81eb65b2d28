"""A burst of balance changes through the system of record, with and without crashes: every
change appears exactly once in bank.balance-changed, per-account sequences have no gaps, and
bank.balances agrees with the database."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections import Counter, defaultdict

import pytest
from mirakuru import HTTPExecutor

from bench import bank_db
from bench.chaos.stack_control import kill_hard, wait_restarted
from bench.teller import Booking, Teller
from events import topics
from kernel.settings import REPO_ROOT
from ops.topic_reader import end_offsets, latest_by_key, read

pytestmark = pytest.mark.integration

ARTIFACTS = REPO_ROOT / "test-artifacts"

ACCOUNTS = 50
CHANGES = 1000


def burst(config, at_third=None, at_two_thirds=None) -> tuple[list[Booking], dict[int, int]]:
    """Book the burst, doing something to the stack a third and two thirds of the way in."""
    accounts = bank_db.open_accounts(config, ACCOUNTS)
    start = end_offsets(config.kafka_bootstrap, topics.BALANCE_CHANGED)
    done: set[int] = set()
    lock = threading.Lock()

    def on_progress(index: int) -> None:
        for mark, action in ((CHANGES // 3, at_third), (2 * CHANGES // 3, at_two_thirds)):
            with lock:
                due = action is not None and index >= mark and mark not in done
                if due:
                    done.add(mark)
            if due:
                action()

    bookings = Teller(config).burst([a.iban for a in accounts], CHANGES, on_progress=on_progress)
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
    restarts: list[int] = []
    bookings, start = burst(
        running_stack, at_third=lambda: restarts.append(kill_hard(running_stack, component))
    )
    wait_restarted(running_stack, component, restarts[0])
    repeats = assert_exactly_once_and_reconciled(
        running_stack, bookings, derived_events(running_stack, bookings, start)
    )
    assert repeats == 0, f"{component} killed mid-burst: {repeats} repeated events"


def second_worker(name: str, web_port: int) -> HTTPExecutor:
    """Another worker of the same group: ready once it holds its share of the partitions."""
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / f"{name}.log").open("w")
    return HTTPExecutor(
        [
            sys.executable,
            "-m",
            "faust",
            "-A",
            "soi.app",
            "worker",
            "--loglevel=info",  # warn turns on a spinner that logs at DEBUG
            "--web-bind=127.0.0.1",
            "--web-host=127.0.0.1",
            f"--web-port={web_port}",
        ],
        url=f"http://127.0.0.1:{web_port}/ready/",
        status=200,
        timeout=120,
        cwd=str(REPO_ROOT),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def test_a_second_worker_joining_and_leaving_mid_burst_neither_loses_nor_duplicates(
    running_stack,
):
    second = second_worker("second-faust-worker", running_stack.soi_web_port + 11)
    two_thirds = threading.Event()

    def join_then_leave() -> None:
        second.start()  # waits until the second worker is ready: partitions moved to it
        two_thirds.wait()
        second.stop()  # a clean leave: its partitions move back

    controller = threading.Thread(target=join_then_leave)
    try:
        bookings, start = burst(
            running_stack, at_third=controller.start, at_two_thirds=two_thirds.set
        )
        controller.join(timeout=180)
    finally:
        two_thirds.set()
        second.stop()
    repeats = assert_exactly_once_and_reconciled(
        running_stack, bookings, derived_events(running_stack, bookings, start)
    )
    assert repeats == 0, f"second worker joined and left mid-burst: {repeats} repeated events"


@pytest.mark.parametrize("killed", ["the second worker", "the first worker"])
def test_either_of_two_workers_killed_mid_burst_neither_loses_nor_duplicates(running_stack, killed):
    second = second_worker("two-workers-kill", running_stack.soi_web_port + 12)
    second.start()
    restarts: list[int] = []

    def kill() -> None:
        if killed == "the second worker":
            second.kill(sig=signal.SIGKILL)  # its partitions move to the first after the session
        else:
            restarts.append(kill_hard(running_stack, "soi"))

    try:
        bookings, start = burst(running_stack, at_third=kill)
        if restarts:
            wait_restarted(running_stack, "soi", restarts[0])
        repeats = assert_exactly_once_and_reconciled(
            running_stack, bookings, derived_events(running_stack, bookings, start)
        )
    finally:
        second.stop()
    assert repeats == 0, f"{killed} killed mid-burst: {repeats} repeated events"
