"""`bankctl reconcile` agrees with a healthy bank and finds planted mismatches. The mismatches
are planted in scratch copies of the derived topics, never in the bank's own."""

from __future__ import annotations

import json

import pytest

from events import codec, topics
from kernel.settings import TopicSettings
from tests.support.ops_stack import produce, quiet_accounts, read_all

pytestmark = pytest.mark.integration

MADE_UP_IBAN = "XX00BANKCTLMADEUP"


def test_a_healthy_bank_reconciles(bankctl):
    result = bankctl("reconcile", "--settle", "15")

    assert result.exit_code == 0, result.output
    assert "OK:" in result.output
    assert "0 mismatch(es)" in result.output


def _copy_with_a_wrong_balance(source: str, target: str, iban: str) -> None:
    """Every record of bank.balances, in order and partition; one account's balance is off by
    one cent, and a state for an IBAN no database row has is added."""
    records = []
    for partition, key, value in read_all(source):
        if key == iban.encode() and value is not None:
            state = codec.decode(value).value
            value = codec.encode("account_balance", {**state, "balance": state["balance"] + 1})
        records.append((partition, key, value))
    for partition in sorted({p for p, _, _ in records}):
        produce(target, [(k, v) for p, k, v in records if p == partition], partition)
    made_up = {
        "iban": MADE_UP_IBAN,
        "account_id": 0,
        "customer_id": None,
        "currency": "EUR",
        "balance": 500,
        "status": "open",
        "sequence": 0,
        "updated_at": 0,
        "event_id": "test:made-up",
    }
    produce(target, [(MADE_UP_IBAN.encode(), codec.encode("account_balance", made_up))])


def _wrong_event(iban: str, balance: int) -> bytes:
    """A BalanceChanged whose chain ends 7 cents away from the database's balance."""
    return codec.encode(
        "balance_changed",
        {
            "event_id": "test:wrong-delta",
            "iban": iban,
            "account_id": 0,
            "customer_id": None,
            "currency": "EUR",
            "old_balance": balance - 100,
            "new_balance": balance + 7,
            "delta": 107,
            "sequence": 1,
            "committed_at": 0,
            "captured_at": 0,
            "derived_at": 0,
            "source_file": "test-bin.000001",
            "source_pos": 1,
            "source_row": 0,
        },
    )


def test_planted_mismatches_are_reported_and_exit_1(bankctl, scratch_topic):
    wrong_state, wrong_events = quiet_accounts(2)
    balances = scratch_topic(
        partitions=TopicSettings.load().partitions, **{"cleanup.policy": "compact"}
    )
    changes = scratch_topic(partitions=1)
    _copy_with_a_wrong_balance(topics.BALANCES, balances, wrong_state.iban)
    produce(
        changes,
        [(wrong_events.iban.encode(), _wrong_event(wrong_events.iban, wrong_events.balance))],
    )
    overrides = ("--balances-topic", balances, "--changes-topic", changes, "--settle", "1")

    table = bankctl("reconcile", *overrides)
    report = json.loads(bankctl("reconcile", *overrides, "--json").output)

    assert table.exit_code == 1, table.output
    assert "MISMATCH" in table.output
    for iban in (wrong_state.iban, wrong_events.iban, MADE_UP_IBAN):
        assert iban in table.output
    by_iban = {m["iban"]: m for m in report["mismatches"]}
    state = by_iban[wrong_state.iban]
    assert state["balances_topic"] == state["database"] + 1
    assert f"{balances} differs" in state["problems"]
    events = by_iban[wrong_events.iban]
    assert events["events"] == events["database"] + 7
    assert any(p.startswith("events differ") for p in events["problems"])
    assert by_iban[MADE_UP_IBAN]["database"] is None
    assert by_iban[MADE_UP_IBAN]["problems"] == [f"{balances} holds it, the database does not"]
