"""The walking skeleton end to end: Django admin -> MariaDB -> Debezium -> Kafka -> Faust ->
gateway -> websocket, on the real components."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from bench.bank_db import open_eur_account
from bench.clerk import live_token
from bench.live_feed import LiveFeed
from tests.support.bank_clerk import BankClerk

pytestmark = pytest.mark.e2e


def test_a_clerks_balance_edit_in_admin_reaches_the_websocket_with_old_new_and_delta(
    running_stack,
):
    account = open_eur_account(running_stack)
    delta = secrets.randbelow(9_000) + 1_000  # 10.00 .. 99.99 EUR
    new_balance = account.balance + delta
    clerk = BankClerk(running_stack.sor_url)
    clerk.sign_in()

    async def scenario() -> dict:
        feed = await LiveFeed.open(running_stack, live_token(running_stack), [account.iban])
        try:
            snapshot = await feed.next_matching("snapshot", account.iban)
            assert snapshot["balance"] == account.balance
            response = await asyncio.to_thread(
                clerk.change_balance, account.id, f"{new_balance / 100:.2f}", "e2e: cash deposit"
            )
            assert response.status_code == 302, f"admin refused the change: {response.text[:800]}"
            return await feed.next_matching("balance_changed", account.iban)
        finally:
            await feed.close()

    event = asyncio.run(scenario())
    assert event["iban"] == account.iban
    assert event["old_balance"] == account.balance
    assert event["new_balance"] == new_balance
    assert event["delta"] == delta
    assert event["committed_at"] <= event["sent_at"]
