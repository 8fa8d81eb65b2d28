"""Staff sign in to the dashboard: one page of cards at a time, and a search that finds an account
(one of the tests' own customers')."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kernel.settings import REPO_ROOT, ClerkLogin
from tests.support.browser import chromium_page
from tests.support.own_customers import customer_with_login

pytestmark = pytest.mark.e2e

PAGE_SIZE = 50
ARTIFACTS = Path(os.environ.get("BANK_TEST_ARTIFACTS") or REPO_ROOT / "test-artifacts")


def test_staff_page_through_the_accounts_and_find_one_by_iban(running_stack):
    account = customer_with_login(running_stack, "e2e-staff-find", secrets.token_urlsafe(16))
    with chromium_page() as page:
        page.goto(running_stack.soe_url + "/")
        page.fill("input[name=username]", ClerkLogin.load().username)
        page.fill("input[name=password]", ClerkLogin.load().password)
        page.keyboard.press("Enter")
        connection = page.locator("#connection")
        expect(connection).to_have_attribute("data-state", "live", timeout=30_000)
        expect(page.locator("#staff-tools")).to_be_visible()

        info = page.locator("#page-info")
        expect(info).to_have_text(re.compile(r"^Page 1 of \d+ · "))
        total = int(re.sub(r"\D", "", info.inner_text().split("·")[1]))
        assert total >= 1
        cards = page.locator("#accounts .card")
        first_page = min(PAGE_SIZE, total)
        expect(cards).to_have_count(first_page)
        ibans = cards.evaluate_all("cards => cards.map(card => card.dataset.account)")
        assert ibans == sorted(ibans)
        page_height = page.evaluate("document.documentElement.scrollHeight")
        assert page_height < 60_000, page_height
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-staff-view.png"))

        if total > PAGE_SIZE:
            page.locator("#page-next").click()
            expect(info).to_have_text(re.compile(r"^Page 2 of "))
            expect(cards.first).not_to_have_attribute("data-account", ibans[0])
            expect(cards).to_have_count(min(PAGE_SIZE, total - PAGE_SIZE))
            second = cards.evaluate_all("cards => cards.map(card => card.dataset.account)")
            assert not set(second) & set(ibans)

        # As a person types it: grouped in fours, in lower case.
        typed = " ".join(re.findall(".{1,4}", account.iban)).lower()
        page.fill("#staff-query", typed)
        page.get_by_role("button", name="Search").click()
        expect(info).to_have_text(re.compile(r"^Page 1 of 1 · 1 account$"))
        expect(cards).to_have_count(1)
        found = page.locator(f'.card[data-account="{account.iban}"]')
        expect(found.locator(".balance")).to_have_attribute("data-balance", str(account.balance))
        expect(connection).to_have_attribute("data-state", "live")

        page.fill("#staff-query", "XX00NOSUCHACCOUNT")
        page.get_by_role("button", name="Search").click()
        expect(cards).to_have_count(0)
        expect(page.locator("#no-accounts")).to_contain_text("No account matches")
