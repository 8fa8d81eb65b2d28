"""A clerk freezes an account with a reason in the admin; the customer's live feed tells them,
with the reason, and never with the clerk's name."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from bench.clerk import live_token
from bench.live_feed import LiveFeed
from tests.support.bank_clerk import BankClerk
from tests.support.own_customers import customer_with_login

pytestmark = pytest.mark.e2e


def test_the_customer_is_told_a_freeze_and_its_reason(running_stack):
    password = secrets.token_urlsafe(16)
    account = customer_with_login(running_stack, "e2e-status", password)
    reason = f"Card reported stolen ({secrets.token_hex(3)})"
    clerk = BankClerk(running_stack.sor_url)
    clerk.sign_in()

    async def scenario() -> tuple[dict, dict]:
        token = live_token(running_stack, "e2e-status", password)
        feed = await LiveFeed.open(running_stack, token, [account.iban])
        try:
            await feed.next_matching("snapshot", account.iban)
            answer = await asyncio.to_thread(clerk.change_status, account.id, "freeze", reason)
            assert answer.status_code == 302, f"admin refused: {answer.text[:800]}"
            seen: dict[str, dict] = {}
            while {"alert", "account"} - seen.keys():  # in whichever order they come
                message = await asyncio.wait_for(feed.receive(), 30)
                if message.get("iban") == account.iban:
                    seen.setdefault(message["type"], message)
            return seen["alert"], seen["account"]
        finally:
            await feed.close()

    try:
        alert, state = asyncio.run(scenario())
    finally:
        clerk.change_status(account.id, "unfreeze", "End of the test")
    assert alert["kind"] == "account_frozen"
    assert reason in alert["message"]
    assert state["status"] == "frozen"
    assert "clerk" not in str(alert) + str(state)
