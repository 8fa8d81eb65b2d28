"""The customer's dashboard in headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from kernel.settings import REPO_ROOT
from tests.support.bank_clerk import BankClerk
from tests.support.browser import chromium_page
from tests.support.own_customers import customer_with_login

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(os.environ.get("BANK_TEST_ARTIFACTS") or REPO_ROOT / "test-artifacts")


@pytest.fixture
def browser_page():
    with chromium_page() as page:
        yield page


def test_a_customer_sees_a_clerks_change_without_reloading(running_stack, browser_page):
    page = browser_page
    password = secrets.token_urlsafe(16)
    account = customer_with_login(running_stack, "e2e-dashboard", password)
    page.goto(running_stack.soe_url + "/")
    page.fill("input[name=username]", "e2e-dashboard")
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")
    balance = page.locator(f'[data-iban="{account.iban}"][data-balance]')
    balance.wait_for(timeout=30_000)
    assert int(balance.get_attribute("data-balance")) == account.balance

    new_balance = account.balance + secrets.randbelow(9_000) + 1_000
    clerk = BankClerk(running_stack.sor_url)
    clerk.sign_in()
    response = clerk.change_balance(account.id, f"{new_balance / 100:.2f}", "e2e: salary")
    assert response.status_code == 302, f"admin refused the change: {response.text[:800]}"

    page.wait_for_function(
        '([iban, expected]) => document.querySelector(`[data-iban="${iban}"][data-balance]`)'
        "?.getAttribute('data-balance') === String(expected)",
        arg=[account.iban, new_balance],
        timeout=30_000,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-after-clerk-change.png"), full_page=True)
