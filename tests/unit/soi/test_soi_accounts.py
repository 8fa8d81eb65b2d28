import json

import pytest

from events.position import SourcePosition
from soi.accounts import AccountMemory, on_account_change, on_ledger_entry
from soi.alerts import PerCurrency, Thresholds
from soi.cdc import ContractViolation, parse_envelope
from tests.support.cdc_envelopes import account, envelope, fixture, ledger_entry

pytestmark = pytest.mark.unit

NOW = 1795459808000
THRESHOLDS = Thresholds(PerCurrency.parse("low", "100"), PerCurrency.parse("large", "5000"))


def change(raw: bytes, memory: AccountMemory | None = None):
    return on_account_change(parse_envelope(raw), memory or AccountMemory(), NOW, THRESHOLDS)


def remember(raw: bytes, memory: AccountMemory | None = None) -> AccountMemory:
    return on_ledger_entry(parse_envelope(raw), memory or AccountMemory())


def test_an_update_that_changes_the_balance_is_one_event_with_old_new_and_delta():
    outcome = change(envelope("u", account(100_000), account(150_000)))
    event = outcome.balance_changed
    assert (event["old_balance"], event["new_balance"], event["delta"]) == (
        100_000,
        150_000,
        50_000,
    )
    assert event["iban"] == "NL91ABNA0417164300"
    assert event["sequence"] == 1
    assert event["event_id"] == "sor:bank-bin.000002:3774:0"
    assert event["committed_at"] == 1795459807123  # the row's updated_at, millisecond precise
    assert outcome.account_balance["balance"] == 150_000
    assert outcome.account_balance["sequence"] == 1


def test_sequence_rises_by_exactly_one_per_change():
    first = change(envelope("u", account(100_000), account(150_000), pos=100))
    second = change(envelope("u", account(150_000), account(90_000), pos=200), first.memory)
    assert second.balance_changed["sequence"] == 2
    assert second.balance_changed["delta"] == -60_000


def test_a_replayed_record_produces_nothing():
    raw = envelope("u", account(100_000), account(150_000), pos=100)
    first = change(raw)
    assert change(raw, first.memory) is None


def test_an_older_record_arriving_late_is_skipped():
    newer = change(envelope("u", account(150_000), account(90_000), pos=200))
    assert change(envelope("u", account(100_000), account(150_000), pos=100), newer.memory) is None


def test_positions_order_across_binlog_files():
    assert SourcePosition("bank-bin.000002", 9999, 0) < SourcePosition("bank-bin.000003", 4, 0)


def test_an_update_without_balance_change_updates_state_but_is_no_event():
    outcome = change(envelope("u", account(100_000), account(100_000, status="open", version=2)))
    assert outcome.balance_changed is None
    assert outcome.account_balance["sequence"] == 0


def test_a_first_snapshot_read_is_a_baseline_not_a_change():
    outcome = change(envelope("r", None, account(100_000)))
    assert outcome.balance_changed is None
    assert outcome.account_balance["balance"] == 100_000
    assert outcome.memory.sequence == 0


def test_a_re_snapshot_with_a_different_balance_reports_the_missed_change():
    baseline = change(envelope("r", None, account(100_000), pos=100))
    outcome = change(envelope("r", None, account(120_000), pos=900), baseline.memory)
    assert outcome.balance_changed["old_balance"] == 100_000
    assert outcome.balance_changed["new_balance"] == 120_000
    assert outcome.balance_changed["sequence"] == 1


def test_a_new_account_opened_empty_is_state_but_no_event():
    outcome = change(fixture("account_insert.json"))
    assert outcome.balance_changed is None
    assert outcome.account_balance["balance"] == 0


def test_a_delete_removes_the_account_from_the_latest_balances():
    outcome = change(envelope("d", account(0), None))
    assert outcome.delete_iban == "NL91ABNA0417164300"
    assert outcome.account_balance is None
    assert outcome.balance_changed is None


def test_a_tombstone_is_recognised_and_not_an_error():
    assert parse_envelope(None) is None


def test_the_ledger_entry_of_the_same_transaction_names_kind_reason_and_clerk():
    """Captured from the running stack: a clerk's deposit, ledger entry first, then the update."""
    memory = remember(fixture("ledger_entry_deposit.json"))
    outcome = change(fixture("account_update_deposit.json"), memory)
    event = outcome.balance_changed
    entry = json.loads(fixture("ledger_entry_deposit.json"))["after"]
    assert event["ledger_match"] == "matched"
    assert (event["kind"], event["reason"], event["clerk"]) == ("deposit", entry["reason"], "clerk")
    assert event["ledger_entry_id"] == entry["id"]
    assert outcome.memory.waiting == ()


def test_a_change_without_a_ledger_entry_says_so_rather_than_inventing_one():
    event = change(fixture("account_update_deposit.json")).balance_changed
    assert event["ledger_match"] == "none"
    assert event["kind"] is event["reason"] is event["clerk"] is None


def test_a_ledger_entry_of_another_transaction_does_not_match():
    memory = remember(
        envelope(
            "c", None, ledger_entry(50_000, 150_000), pos=90, gtid="0-1-9", table="ledger_entry"
        )
    )
    outcome = change(envelope("u", account(100_000), account(150_000), pos=100), memory)
    assert outcome.balance_changed["ledger_match"] == "none"


def test_a_replayed_ledger_entry_is_not_kept_waiting():
    entry = envelope("c", None, ledger_entry(50_000, 150_000), pos=3700, table="ledger_entry")
    memory = remember(entry)
    outcome = change(envelope("u", account(100_000), account(150_000), pos=3774), memory)
    assert on_ledger_entry(parse_envelope(entry), outcome.memory) is None


def test_memory_survives_its_changelog_round_trip():
    memory = remember(fixture("ledger_entry_deposit.json"))
    assert AccountMemory.from_json(json.loads(json.dumps(memory.to_json()))) == memory


@pytest.mark.parametrize(
    ("old", "new", "kinds"),
    [
        (20_000, 5_000, ["low_balance"]),
        (5_000, 4_000, []),  # already low: no second alert
        (5_000, -100, ["overdraft_entered"]),
        (-100, -200, []),
        (100_000, 700_000, ["large_movement"]),
        (700_000, 5_000, ["low_balance", "large_movement"]),
    ],
)
def test_alerts_fire_when_a_line_is_crossed(old, new, kinds):
    outcome = change(envelope("u", account(old), account(new)))
    assert [a["kind"] for a in outcome.alerts] == kinds
    for alert in outcome.alerts:
        assert alert["customer_id"] == 3
        assert alert["alert_id"] == f"sor:bank-bin.000002:3774:0:{alert['kind']}"


def test_an_accounts_own_low_balance_threshold_wins():
    outcome = change(envelope("u", account(60_000), account(40_000, low_balance_threshold=50_000)))
    assert [(a["kind"], a["threshold"]) for a in outcome.alerts] == [("low_balance", 50_000)]


def test_freezing_an_account_alerts_its_customer():
    outcome = change(envelope("u", account(1_000), account(1_000, status="frozen")))
    assert [a["kind"] for a in outcome.alerts] == ["account_frozen"]
    assert outcome.account_balance["status"] == "frozen"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x00\xffnot json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"op": "x", "source": {}}', "unknown op"),
        (b'{"op": "u", "before": null, "after": null, "source": {}}', "without the row image"),
    ],
)
def test_malformed_records_are_contract_violations(raw, reason):
    with pytest.raises(ContractViolation, match=reason):
        parse_envelope(raw)


def test_a_balance_that_is_not_integer_minor_units_is_a_contract_violation():
    with pytest.raises(ContractViolation, match="minor units"):
        change(envelope("u", account(1000), account("15.00")))


def test_an_envelope_with_a_schema_block_is_refused_with_the_setting_to_change():
    with pytest.raises(ContractViolation, match=r"schemas\.enable=false"):
        parse_envelope(b'{"schema": {}, "payload": {}}')


def test_a_status_change_tells_the_customer_the_clerks_reason_but_not_the_clerk():
    frozen = account(1_000, status="frozen", status_reason="Card reported stolen")
    frozen["status_changed_by_username"] = "clerk"
    outcome = change(envelope("u", account(1_000), frozen))
    [alert] = outcome.alerts
    assert alert["kind"] == "account_frozen"
    assert alert["message"].endswith("has been frozen; contact your bank: Card reported stolen")
    assert "clerk" not in json.dumps(outcome.alerts) + json.dumps(outcome.account_balance)

    reopened = change(envelope("u", frozen, account(1_000, status_reason="Card found")))
    assert [(a["kind"], a["message"].split(" ", 1)[1]) for a in reopened.alerts] == [
        ("account_unfrozen", "is open again: Card found")
    ]
    closed = change(envelope("u", account(0), account(0, status="closed")))
    assert [a["kind"] for a in closed.alerts] == ["account_closed"]
