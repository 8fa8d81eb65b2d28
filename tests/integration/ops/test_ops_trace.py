"""`bankctl trace IBAN` follows a real booking from the ledger row to the gateway's fan-out."""

from __future__ import annotations

import json

import pytest
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from events import topics
from ops import render
from tests.support.ops_stack import quiet_accounts

pytestmark = pytest.mark.integration


class NotDerivedYet(AssertionError):
    pass


class NotFannedOutYet(AssertionError):
    pass


def test_a_deposit_is_traced_hop_by_hop_with_delays(bankctl, teller):
    """Needs the stack's gateway to run this code (it has /fan-out): restart it after changing
    soe/."""
    (account,) = quiet_accounts(1)
    deposit = teller.deposit(account.iban, 123, "bankctl trace test")

    @retry(
        retry=retry_if_exception_type(NotFannedOutYet),
        stop=stop_after_delay(60),
        wait=wait_fixed(1),
        reraise=True,
    )
    def traced() -> dict:
        result = bankctl("trace", account.iban, "--limit", "3", "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        change = next(c for c in data["changes"] if c["ledger_entry"]["id"] == deposit.entry_id)
        if change["gateway"] is None:
            raise NotFannedOutYet(json.dumps(change))
        return change

    change = traced()
    assert change["ledger_entry"]["amount"] == 123
    assert change["ledger_entry"]["kind"] == "deposit"
    assert change["cdc"]["offset"] >= 0
    assert change["cdc"]["gtid"]
    assert change["derived"]["event_id"] == change["cdc"]["event_id"]
    assert change["derived"]["ledger_match"] == "matched"
    delays = change["delays_ms"]
    assert 0 <= delays["database_to_cdc"] < 60_000
    assert 0 <= delays["cdc_to_derived"] < 60_000
    assert 0 <= delays["derived_to_gateway"] < 60_000
    assert delays["total"] == (
        delays["database_to_cdc"] + delays["cdc_to_derived"] + delays["derived_to_gateway"]
    )
    gateway = change["gateway"]
    assert gateway["fanned_out_at"] >= change["derived"]["derived_at"]
    assert gateway["watchers"] >= 0  # no one need be watching: the gateway saw it all the same
    assert gateway["at_start"] is False
    assert change["gateway_note"] is None

    table = bankctl("trace", account.iban, "--limit", "3")
    assert table.exit_code == 0, table.output
    assert f"#{deposit.entry_id} deposit +1.23 EUR" in table.output  # major units
    assert topics.CDC_MONEY in table.output and topics.BALANCE_CHANGED in table.output
    assert f"{change['cdc']['partition']}@{change['cdc']['offset']}" in table.output
    assert f"{change['derived']['partition']}@{change['derived']['offset']}" in table.output
    assert f"fanned out {render.when(gateway['fanned_out_at'])}" in table.output
    assert f"to {gateway['watchers']} watcher" in table.output


def test_a_gateway_that_does_not_answer_leaves_only_its_hop_out(bankctl, teller):
    (account,) = quiet_accounts(1)
    deposit = teller.deposit(account.iban, 42, "bankctl trace without gateway")
    nowhere = "http://127.0.0.1:1"

    @retry(
        retry=retry_if_exception_type(NotDerivedYet),
        stop=stop_after_delay(60),
        wait=wait_fixed(1),
        reraise=True,
    )
    def traced() -> tuple[dict, dict]:
        result = bankctl("trace", account.iban, "--limit", "1", "--json", "--gateway-url", nowhere)
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        (change,) = data["changes"]
        assert change["ledger_entry"]["id"] == deposit.entry_id
        if change["derived"] is None:
            raise NotDerivedYet(json.dumps(change))
        return data, change

    data, change = traced()
    assert data["gateway"]["url"] == nowhere
    assert data["gateway"]["problem"].startswith("the gateway is not answering")
    assert change["gateway"] is None
    assert change["gateway_note"] == data["gateway"]["problem"]
    assert change["delays_ms"]["derived_to_gateway"] is None

    table = bankctl("trace", account.iban, "--limit", "1", "--gateway-url", nowhere)
    assert table.exit_code == 0, table.output
    assert "gateway fan-out: n/a, the gateway is not answering" in table.output
