"""One rule for a change's binlog position and the event id built from it: the worker derives
events with it, bankctl finds the derived event of a CDC record with it."""

import json

import pytest

from events.position import SourcePosition
from ops.records import DEBEZIUM, Record
from ops.trace import _cdc_hop
from soi.accounts import AccountMemory, on_account_change
from soi.alerts import PerCurrency, Thresholds
from soi.cdc import parse_envelope
from tests.support.cdc_envelopes import account, envelope

pytestmark = pytest.mark.unit

THRESHOLDS = Thresholds(PerCurrency.parse("low", "100"), PerCurrency.parse("large", "5000"))


def test_the_event_id_names_the_binlog_file_position_and_row():
    position = SourcePosition.from_source({"file": "bank-bin.000002", "pos": 3774, "row": 1})
    assert position.event_id == "sor:bank-bin.000002:3774:1"
    assert SourcePosition.from_source({"file": "f", "pos": "9"}).row == 0


def test_positions_order_changes_by_file_then_position_then_row():
    assert SourcePosition("a", 9, 0) < SourcePosition("a", 10, 0) < SourcePosition("a", 10, 1)
    assert SourcePosition("a", 999, 0) < SourcePosition("b", 1, 0)


def test_bankctl_finds_a_change_under_the_id_the_worker_gave_its_event():
    raw = envelope("u", account(100_000), account(150_000))
    derived = on_account_change(parse_envelope(raw), AccountMemory(), 0, THRESHOLDS)
    record = Record("sor.bank.money", 0, 5, None, "7", DEBEZIUM, json.loads(raw))
    assert _cdc_hop(record).event_id == derived.balance_changed["event_id"]
