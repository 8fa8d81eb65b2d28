"""What a client receives is the public message, never the internal event it is derived from."""

import json

import pytest

from soe.accounts import AccountBook
from soe.messages import Alert, BalanceChanged, Movement, Snapshot, fields_of
from tests.support.soe_factories import balance_state, change, changes

pytestmark = pytest.mark.unit
IBAN = "DE44500105175407324931"
INTERNALS = {"event_id", "source_file", "source_pos", "source_row", "gtid", "clerk", "ledger_match"}
PUBLIC_MOVEMENT = {
    "iban",
    "account_id",
    "customer_id",
    "currency",
    "old_balance",
    "new_balance",
    "delta",
    "sequence",
    "kind",
    "reason",
    "committed_at",
    "captured_at",
    "derived_at",
    "ledger_entry_id",
}


def test_a_balance_change_carries_the_public_fields_and_none_of_the_internal_ones():
    event = change(IBAN, 5, old=10_000, delta=250)
    sent = json.loads(BalanceChanged.of(event).encode())
    assert set(sent) == PUBLIC_MOVEMENT | {"type", "replayed"}
    assert not INTERNALS & set(sent)
    assert (sent["type"], sent["delta"], sent["new_balance"]) == ("balance_changed", 250, 10_250)
    assert sent["replayed"] is False
    assert json.loads(BalanceChanged.of(event, replayed=True).encode())["replayed"] is True


def test_the_documented_field_lists_are_the_models():
    assert fields_of(BalanceChanged) == PUBLIC_MOVEMENT | {"type", "replayed", "sent_at"}
    assert set(Movement.model_fields) == PUBLIC_MOVEMENT


def test_a_snapshot_carries_the_state_and_the_recent_history_in_public_form():
    book = AccountBook(history_per_account=10)
    book.apply_balance(balance_state(IBAN, balance=10_000, sequence=0))
    for event in changes(IBAN, 1, 4):
        book.apply_change(event)
    shot = json.loads(Snapshot.of(book.get(IBAN), history_limit=2, fresh=True).encode())
    assert shot["type"] == "snapshot"
    assert (shot["balance"], shot["sequence"], shot["fresh"]) == (10_400, 4, True)
    assert [e["sequence"] for e in shot["history"]] == [3, 4]
    for movement in shot["history"]:
        assert set(movement) == PUBLIC_MOVEMENT


def test_an_alert_leaves_its_internal_id_behind():
    alert = {
        "alert_id": "sor:bank-bin.000003:5678:0:low_balance",
        "kind": "low_balance",
        "customer_id": 7,
        "iban": IBAN,
        "currency": "EUR",
        "balance": 900,
        "amount": -5000,
        "threshold": 1000,
        "message": "Your balance is below 10.00 EUR",
        "raised_at": 1,
    }
    sent = json.loads(Alert.of(alert).encode())
    assert "alert_id" not in sent
    assert sent["message"] == alert["message"]
    assert "bank-bin" not in json.dumps(sent)
