"""A drill watcher's view of one account: snapshots, live changes, gaps, repeats, broken chains."""

import pytest

from bench.chaos.watchers import AccountView, Watcher, WatcherReport
from kernel.settings import settings

pytestmark = pytest.mark.unit

IBAN = "NL53LIVE1476781926"


def watcher() -> Watcher:
    return Watcher(settings(), "token", [IBAN], WatcherReport("steady-0", "steady"))


def changed(sequence: int, old: int, new: int, entry_id: int = 1) -> dict:
    return {
        "type": "balance_changed",
        "iban": IBAN,
        "sequence": sequence,
        "old_balance": old,
        "new_balance": new,
        "ledger_entry_id": entry_id,
    }


def test_a_snapshot_then_the_next_changes_show_the_latest_balance():
    w = watcher()
    w._snapshot({"iban": IBAN, "sequence": 4, "balance": 1000})
    w._changed(changed(5, 1000, 1100, entry_id=11))
    w._changed(changed(6, 1100, 1150, entry_id=12))
    assert w.report.views[IBAN] == AccountView(6, 1150)
    assert set(w.report.first_seen) == {11, 12}
    assert (w.report.gaps, w.report.chain_breaks, w.report.repeats) == ([], [], 0)


def test_a_skipped_sequence_is_a_gap():
    w = watcher()
    w._snapshot({"iban": IBAN, "sequence": 4, "balance": 1000})
    w._changed(changed(6, 1100, 1150))
    assert w.report.gaps == [f"{IBAN}: seq 4 then 6"]
    assert w.report.views[IBAN] == AccountView(6, 1150)


def test_a_sequence_shown_again_is_a_repeat_and_changes_nothing():
    w = watcher()
    w._snapshot({"iban": IBAN, "sequence": 5, "balance": 1100})
    w._changed(changed(5, 1000, 1100))
    assert w.report.repeats == 1
    assert w.report.views[IBAN] == AccountView(5, 1100)


def test_a_change_that_does_not_start_where_the_last_ended_breaks_the_chain():
    w = watcher()
    w._snapshot({"iban": IBAN, "sequence": 4, "balance": 1000})
    w._changed(changed(5, 1200, 1300))
    assert w.report.chain_breaks == [f"{IBAN}: seq 5 starts at 1200, shown 1000"]


def test_a_fresh_snapshot_after_a_resume_is_counted():
    w = watcher()
    w._snapshot({"iban": IBAN, "sequence": 4, "balance": 1000})
    w._snapshot({"iban": IBAN, "sequence": 9, "balance": 1500, "fresh": True})
    assert w.report.fresh_snapshots == 1
    assert w.report.views[IBAN] == AccountView(9, 1500)
