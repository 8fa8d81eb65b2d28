import pytest
from soi_envelopes import account, envelope

from soi.accounts import Progress, derive
from soi.cdc import ContractViolation, SourcePosition, parse_envelope

pytestmark = pytest.mark.unit

NOW = 1795459808000


def derive_raw(raw: bytes, progress: Progress | None = None):
    return derive(parse_envelope(raw), progress, NOW)


def test_an_update_that_changes_the_balance_is_one_event_with_old_new_and_delta():
    outcome = derive_raw(envelope("u", account(1000), account(1500)))
    event = outcome.balance_changed
    assert (event["old_balance"], event["new_balance"], event["delta"]) == (1000, 1500, 500)
    assert event["iban"] == "NL91ABNA0417164300"
    assert event["sequence"] == 1
    assert event["event_id"] == "sor:bank-bin.000002:3774:0"
    assert event["committed_at"] == 1795459807123  # the row's updated_at, millisecond precise
    assert event["ledger_match"] == "none"
    assert outcome.account_balance["balance"] == 1500
    assert outcome.account_balance["sequence"] == 1


def test_sequence_rises_by_exactly_one_per_change():
    first = derive_raw(envelope("u", account(1000), account(1500), pos=100))
    second = derive_raw(envelope("u", account(1500), account(900), pos=200), first.progress)
    assert second.balance_changed["sequence"] == 2
    assert second.balance_changed["delta"] == -600


def test_a_replayed_record_produces_nothing():
    raw = envelope("u", account(1000), account(1500), pos=100)
    first = derive_raw(raw)
    assert derive_raw(raw, first.progress) is None


def test_an_older_record_arriving_late_is_skipped():
    newer = derive_raw(envelope("u", account(1500), account(900), pos=200))
    assert derive_raw(envelope("u", account(1000), account(1500), pos=100), newer.progress) is None


def test_positions_order_across_binlog_files():
    assert SourcePosition("bank-bin.000002", 9999, 0) < SourcePosition("bank-bin.000003", 4, 0)


def test_an_update_without_balance_change_updates_state_but_is_no_event():
    outcome = derive_raw(envelope("u", account(1000), account(1000, status="frozen")))
    assert outcome.balance_changed is None
    assert outcome.account_balance["status"] == "frozen"
    assert outcome.account_balance["sequence"] == 0


def test_a_first_snapshot_read_is_a_baseline_not_a_change():
    outcome = derive_raw(envelope("r", None, account(1000)))
    assert outcome.balance_changed is None
    assert outcome.account_balance["balance"] == 1000
    assert outcome.progress.sequence == 0


def test_a_re_snapshot_with_a_different_balance_reports_the_missed_change():
    baseline = derive_raw(envelope("r", None, account(1000), pos=100))
    outcome = derive_raw(envelope("r", None, account(1200), pos=900), baseline.progress)
    assert outcome.balance_changed["old_balance"] == 1000
    assert outcome.balance_changed["new_balance"] == 1200
    assert outcome.balance_changed["sequence"] == 1


def test_a_new_account_with_an_opening_balance_is_its_first_change():
    outcome = derive_raw(envelope("c", None, account(2500)))
    assert outcome.balance_changed["old_balance"] == 0
    assert outcome.balance_changed["sequence"] == 1


def test_a_delete_removes_the_account_from_the_latest_balances():
    outcome = derive_raw(envelope("d", account(0), None))
    assert outcome.delete_iban == "NL91ABNA0417164300"
    assert outcome.account_balance is None
    assert outcome.balance_changed is None


def test_a_tombstone_is_recognised_and_not_an_error():
    assert parse_envelope(None) is None


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
        derive_raw(envelope("u", account(1000), account("15.00")))


def test_an_envelope_with_a_schema_block_is_refused_with_the_setting_to_change():
    with pytest.raises(ContractViolation, match=r"schemas\.enable=false"):
        parse_envelope(b'{"schema": {}, "payload": {}}')
