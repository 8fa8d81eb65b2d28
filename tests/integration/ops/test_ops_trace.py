"""`bankctl trace IBAN` follows a real booking from the ledger row to the derived event."""

from __future__ import annotations

import json

import pytest
from ops_stack import quiet_accounts
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from events import topics

pytestmark = pytest.mark.integration


class NotDerivedYet(AssertionError):
    pass


def test_a_deposit_is_traced_hop_by_hop_with_delays(bankctl, teller):
    (account,) = quiet_accounts(1)
    deposit = teller.deposit(account.iban, "1.23", "bankctl trace test")

    @retry(
        retry=retry_if_exception_type(NotDerivedYet),
        stop=stop_after_delay(60),
        wait=wait_fixed(1),
        reraise=True,
    )
    def traced() -> dict:
        result = bankctl("trace", account.iban, "--limit", "3", "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        change = next(c for c in data["changes"] if c["ledger_entry"]["id"] == deposit.entry_id)
        if change["derived"] is None:
            raise NotDerivedYet(json.dumps(change))
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
    assert delays["total"] == delays["database_to_cdc"] + delays["cdc_to_derived"]
    assert change["gateway_sent_at"] is None  # the gateway does not expose its send times

    table = bankctl("trace", account.iban, "--limit", "3")
    assert table.exit_code == 0, table.output
    assert f"#{deposit.entry_id} deposit +123" in table.output
    assert topics.CDC_MONEY in table.output and topics.BALANCE_CHANGED in table.output
    assert f"{change['cdc']['partition']}@{change['cdc']['offset']}" in table.output
    assert f"{change['derived']['partition']}@{change['derived']['offset']}" in table.output
    assert "gateway send: n/a" in table.output
