"""The dashboard in headless Chromium against a real gateway: live changes, alerts, reconnect."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import chromium_page
from tests.support.soe_live import new_customer_id

pytestmark = pytest.mark.integration


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page(width=390, height=844) as phone:
        yield phone


def balance_of(page: Page, iban: str):
    return page.locator(f'[data-iban="{iban}"][data-balance]')


def test_the_dashboard_follows_changes_and_catches_up_after_the_gateway_restarts(
    own_gateway, minter, ledger, page, artifacts
):
    customer = new_customer_id()
    first = ledger.open_account(customer, balance=100_00)
    second = ledger.open_account(customer, balance=5_00)
    ledger.flush()
    token = minter.token(customer)
    page.add_init_script(f"sessionStorage.setItem('liveBank.token', {json.dumps(token)})")
    page.goto(own_gateway.http + "/")

    expect(balance_of(page, first)).to_have_attribute("data-balance", "10000", timeout=15_000)
    expect(balance_of(page, second)).to_have_attribute("data-balance", "500")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")

    ledger.change(first, 25_50, reason="Salary November")
    ledger.flush()
    expect(balance_of(page, first)).to_have_attribute("data-balance", "12550", timeout=10_000)
    card = page.locator(f'[data-account="{first}"]')
    expect(card.locator(".flash.show")).to_contain_text("25.50")
    expect(card.locator(".movements")).to_contain_text("Salary November")

    ledger.alert(second)
    ledger.flush()
    expect(page.locator(".notification")).to_contain_text("Low balance", timeout=10_000)

    own_gateway.executor.stop()
    expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
    ledger.change(first, -50_00, reason="Rent")
    ledger.change(first, 1_00, reason="Refund")
    ledger.change(second, 3_00, reason="Pocket money")
    ledger.flush()
    own_gateway.executor.start()

    expect(balance_of(page, first)).to_have_attribute("data-balance", "7650", timeout=30_000)
    expect(balance_of(page, second)).to_have_attribute("data-balance", "800")
    expect(card.locator(".movements li").first).to_contain_text("Refund")
    expect(card.locator(".movements")).to_contain_text("Rent")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    page.screenshot(path=str(artifacts / "soe-dashboard-after-reconnect.png"), full_page=True)


def test_signing_out_forgets_the_token(own_gateway, minter, ledger, page):
    customer = new_customer_id()
    iban = ledger.open_account(customer)
    ledger.flush()
    page.add_init_script(
        f"if (!sessionStorage.getItem('seeded')) {{"
        f"sessionStorage.setItem('seeded', '1');"
        f"sessionStorage.setItem('liveBank.token', {json.dumps(minter.token(customer))}); }}"
    )
    page.goto(own_gateway.http + "/")
    expect(balance_of(page, iban)).to_be_visible(timeout=15_000)
    page.click("#sign-out")
    expect(page.locator("input[name=username]")).to_be_visible()
    expect(page.locator("input[name=password]")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('liveBank.token')") is None
    page.reload()
    expect(page.locator("input[name=username]")).to_be_visible()


def test_another_site_cannot_frame_the_sign_in_form(gateway, page):
    """A page of another origin (a local file here) embeds the dashboard: the browser must refuse
    to show it, so the sign-in form can never be overlaid for clickjacking."""
    # set_content returns once the page has loaded, and a page's load waits for its frames.
    page.set_content(
        f'<iframe id="framed" src="{gateway.http}/" width="600" height="400"></iframe>'
    )
    assert len(page.frames) == 2
    expect(page.frame_locator("#framed").locator("input[name=username]")).to_have_count(0)


def test_the_dashboard_runs_under_its_content_security_policy(gateway, page):
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    page.goto(gateway.http + "/")
    expect(page.locator("input[name=username]")).to_be_visible()
    assert violations == []
