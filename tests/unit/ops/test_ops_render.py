"""How records, times and traces read on screen."""

from __future__ import annotations

import pytest

from ops import render
from ops.commands import connector, consume, trace
from ops.database import LedgerRow
from ops.gateway import FanOut
from ops.records import Record
from ops.trace import NOT_REMEMBERED, CdcHop, ChangeTrace, DerivedHop

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, "n/a"),
        (12, "12 ms"),
        (-40, "-40 ms"),
        (1500, "1.5 s"),
        (600_000, "10 min"),
        (10_800_000, "3 h"),
        (604_800_000, "7 d"),
    ],
)
def test_durations_read_in_the_unit_that_fits(ms, text):
    assert render.duration(ms) == text


def test_times_are_utc_with_milliseconds():
    assert render.when(1_795_460_509_380) == "2026-11-23 19:01:49.380"
    assert render.when(None) == "-"


def test_a_debezium_update_shows_only_what_changed_and_where_it_sits_in_the_binlog():
    envelope = {
        "op": "u",
        "before": {"id": 2, "balance": 100, "currency": "EUR", "version": 1},
        "after": {"id": 2, "balance": 250, "currency": "EUR", "version": 2},
        "source": {"file": "bank-bin.000001", "pos": 42, "row": 0, "gtid": "0-1-7", "ts_ms": 0},
    }
    record = Record("sor.bank.money", 0, 5, 0, '{"account_id":2}', "debezium", envelope, "account")

    assert consume.describe_kind(record) == "update account"
    text = consume.summary(record)
    assert "balance: 1.00 EUR → 2.50 EUR; version: 1 → 2" in text
    assert "currency" not in text
    assert "bank-bin.000001:42#0 gtid 0-1-7" in text


def test_an_undecodable_record_says_why_and_shows_its_bytes():
    record = Record(
        "t", 1, 600, 0, "k", "undecodable", {"bytes": 3, "hex": "ff00aa"}, error="not JSON"
    )

    assert consume.describe_kind(record) == "undecodable"
    assert consume.summary(record) == "not JSON; 3 bytes: ff00aa"


def test_a_long_java_trace_keeps_its_head_and_every_cause():
    trace = "\n".join(
        ["org.example.Boom: outer", *[f"\tat frame{i}" for i in range(30)], "Caused by: Root: why"]
    )

    short = connector.trimmed_trace(trace, full=False)

    assert short.startswith("org.example.Boom: outer")
    assert short.endswith("Caused by: Root: why")
    assert "more lines (--full-trace shows them)" in short
    assert connector.trimmed_trace(trace, full=True) == trace


def _change(fan_out: FanOut | None, note: str | None = None) -> ChangeTrace:
    entry = LedgerRow(9, 2, 500, 1500, "deposit", "salary", "clerk", created_at=1_000)
    cdc = CdcHop(0, 3, 1_000, captured_at=1_200, event_id="sor:bin:1:0", gtid="0-1-7")
    derived = DerivedHop(
        1, 4, derived_at=1_250, sequence=5, event_id="sor:bin:1:0", ledger_match="matched"
    )
    return ChangeTrace(entry, cdc, derived, fan_out, note)


def test_the_gateway_hop_shows_its_fan_out_watchers_and_delay():
    change = _change(FanOut(fanned_out_at=1_262, watchers=2, at_start=False))
    assert (change.send_delay, change.total) == (12, 262)
    cell = trace._gateway_cell(change)
    assert f"fanned out {render.when(1_262)}" in cell
    assert "to 2 watchers" in cell and "+12 ms" in cell


def test_an_event_read_back_at_the_gateways_start_is_not_called_sent():
    cell = trace._gateway_cell(_change(FanOut(fanned_out_at=90_000, watchers=0, at_start=True)))
    assert "read back at the gateway's start" in cell and "not sent live" in cell
    assert "fanned out" not in cell


def test_a_gateway_hop_it_cannot_fill_says_why():
    change = _change(None, NOT_REMEMBERED)
    assert (change.send_delay, change.total) == (None, 250)
    assert "n/a" in trace._gateway_cell(change)
    assert "does not remember this event" in trace._gateway_cell(change)


def test_a_balance_change_reads_in_major_units_next_to_its_currency():
    event = {
        "iban": "NL02LIVE0000000018",
        "old_balance": 1_217_501,
        "new_balance": 1_217_601,
        "delta": 100,
        "currency": "EUR",
        "sequence": 4,
        "kind": "deposit",
        "reason": "Salary",
        "clerk": None,
        "event_id": "sor:x",
        "committed_at": 0,
        "derived_at": 0,
    }
    record = Record(
        "bank.balance-changed", 0, 1, 0, "NL02LIVE0000000018", "avro", event, "balance_changed", 1
    )
    assert "12,175.01 EUR → 12,176.01 EUR (+1.00 EUR) seq 4" in consume.summary(record)
    assert record.to_json()["value"]["delta"] == 100  # JSON keeps minor units


def test_yen_balances_and_alerts_have_no_decimals():
    balance = Record(
        "bank.balances", 0, 1, 0, "k", "avro",
        {"iban": "I", "balance": 10_000, "currency": "JPY", "status": "open", "sequence": 1,
         "updated_at": 1_795_460_509_380},
        "account_balance", 1,
    )  # fmt: skip
    assert "I 10,000 JPY open seq 1, as of 2026-11-23 19:01:49.380" in consume.summary(balance)


def test_captured_times_read_as_times_and_ledger_amounts_say_they_are_minor_units():
    envelope = {
        "op": "c",
        "before": None,
        "after": {"id": 9, "amount": -4500, "balance_after": 1_215_000,
                  "created_at": 1_795_460_509_380},
        "source": {"file": "f", "pos": 1, "ts_ms": 0},
    }  # fmt: skip
    record = Record("sor.bank.money", 0, 1, 0, "{}", "debezium", envelope, "ledger_entry")
    text = consume.summary(record)
    assert "created_at=2026-11-23 19:01:49.380" in text
    assert "amount=-4500, balance_after=1215000" in text and "(amounts in minor units)" in text
