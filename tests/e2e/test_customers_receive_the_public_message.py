"""A clerk's booking reaches the customer's live feed as the documented public message: the
amounts, currency, kind, reason, times, sequence and ids, none of how the bank captured it."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from bench.live_feed import LiveFeed, customer_token
from bench.teller import Teller

pytestmark = pytest.mark.e2e

# docs/live-feed-protocol.md, "balance_changed"
PUBLIC_FIELDS = {
    "type",
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
    "replayed",
    "sent_at",
}
INTERNALS = {"event_id", "source_file", "source_pos", "source_row", "gtid", "clerk", "ledger_match"}


def new_customer_with_account(teller: Teller) -> tuple[int, str]:
    customer = teller.http.post(
        "/api/customers/",
        json={"name": "Public Message Test", "email": f"e2e-{uuid.uuid4().hex}@example.com"},
    )
    assert customer.status_code == 201, customer.text
    account = teller.http.post(
        "/api/accounts/",
        json={"customer": customer.json()["id"], "currency": "EUR", "opening_balance": "10.00"},
    )
    assert account.status_code == 201, account.text
    return customer.json()["id"], account.json()["iban"]


def test_a_clerks_booking_reaches_the_customer_as_the_public_message_only(running_stack):
    teller = Teller(running_stack)
    customer_id, iban = new_customer_with_account(teller)
    token = customer_token(running_stack, customer_id)

    async def scenario() -> dict:
        feed = await LiveFeed.open(running_stack, token, [iban])
        try:
            await feed.next_matching("snapshot", iban)
            booking = await asyncio.to_thread(teller.deposit, iban, 12_34, "e2e: public message")
            change = await feed.next_matching("balance_changed", iban)
            while change["reason"] != "e2e: public message":  # the opening deposit came first
                change = await feed.next_matching("balance_changed", iban)
            return change | {"booked_entry": booking.entry_id}
        finally:
            await feed.close()

    change = asyncio.run(scenario())
    booked_entry = change.pop("booked_entry")
    assert set(change) == PUBLIC_FIELDS
    assert change["delta"] == 12_34
    assert change["new_balance"] == change["old_balance"] + 12_34 == 10_00 + 12_34
    assert (change["currency"], change["kind"], change["reason"]) == (
        "EUR",
        "deposit",
        "e2e: public message",
    )
    assert change["ledger_entry_id"] == booked_entry
    assert change["customer_id"] == customer_id
    assert change["replayed"] is False
    assert not INTERNALS & set(change)
    assert "bank-bin" not in json.dumps(change), "a binlog file name reached the customer"
