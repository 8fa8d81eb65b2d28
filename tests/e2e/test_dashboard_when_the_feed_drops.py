"""The customer's dashboard in headless Chromium when the live feed drops, on a desktop and a
phone, and with a reason too long for one line. The feed is dropped in the browser's network
layer (Playwright routes the websocket through itself), so the gateway other tests use stays up."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from kernel.settings import REPO_ROOT
from tests.support.bank_clerk import BankClerk
from tests.support.browser import chromium_page
from tests.support.own_customers import customer_with_login

pytestmark = pytest.mark.e2e

VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}
ARTIFACTS = Path(os.environ.get("BANK_TEST_ARTIFACTS") or REPO_ROOT / "test-artifacts")


@dataclass
class FeedSwitch:
    """Lets the page's websockets through to the gateway, or drops them."""

    up: bool = True
    open: list[tuple[WebSocketRoute, WebSocketRoute]] = field(default_factory=list)
    attempts: int = 0

    def route(self, page: Page) -> None:
        page.route_web_socket("**/ws", self._connect)

    def _connect(self, socket: WebSocketRoute) -> None:
        self.attempts += 1
        if not self.up:
            # Closed at its first message (the page's auth): closing it in here, before the
            # route is set up, would wait for this very handler.
            socket.on_message(lambda _: socket.close(code=1001, reason="the feed is down"))
            return
        self.open.append((socket, socket.connect_to_server()))

    def drop(self) -> None:
        self.up = False
        for page_side, gateway_side in self.open:
            page_side.close(code=1001, reason="the test dropped the feed")
            gateway_side.close()
        self.open.clear()


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(base_url + "/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def viewport_page(request) -> Iterator[tuple[str, Page]]:
    width, height = VIEWPORTS[request.param]
    with chromium_page(width, height) as page:
        yield request.param, page


def test_a_dropped_feed_greys_the_cards_and_retry_now_brings_it_back(running_stack, viewport_page):
    viewport, page = viewport_page
    password = secrets.token_urlsafe(16)
    account = customer_with_login(running_stack, "e2e-offline", password)
    switch = FeedSwitch()
    switch.route(page)
    sign_in(page, running_stack.soe_url, "e2e-offline", password)
    card = page.locator(f'.card[data-account="{account.iban}"]')
    balance = card.locator(".balance")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=30_000)
    shown = balance.get_attribute("data-balance")
    text = balance.inner_text()
    expect(page.locator("#offline")).to_be_hidden()
    expect(card).not_to_have_class(re.compile(r"\bstale\b"))

    switch.drop()

    banner = page.locator("#offline")
    expect(banner).to_be_visible(timeout=10_000)
    expect(banner).to_contain_text("Offline, retrying…")
    retry = page.get_by_role("button", name="Retry now")
    expect(retry).to_be_visible()
    box = retry.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    # The old balance stays, greyed, with the time of the last update the feed brought.
    expect(card).to_have_class(re.compile(r"\bstale\b"))
    expect(card.locator(".as-of")).to_be_visible()
    expect(card.locator(".as-of")).to_have_text(re.compile(r"^as of \S"))
    assert balance.get_attribute("data-balance") == shown
    assert balance.inner_text() == text
    grey = card.evaluate("element => getComputedStyle(element).filter")
    assert "grayscale" in grey, grey
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-offline-{viewport}.png"))

    # Wait until the backoff puts the next attempt of its own more than 6 s away; "Retry now"
    # must then bring the feed back well before it.
    page.wait_for_function(
        "() => Number(document.querySelector('#offline').dataset.retryAt) - Date.now() > 6000",
        timeout=40_000,
    )
    attempts = switch.attempts
    switch.up = True
    retry.click()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=5_000)
    assert switch.attempts == attempts + 1
    expect(banner).to_be_hidden()
    expect(card).not_to_have_class(re.compile(r"\bstale\b"))
    expect(card.locator(".as-of")).to_be_hidden()


def test_a_long_reason_can_be_read_in_full(running_stack):
    password = secrets.token_urlsafe(16)
    account = customer_with_login(running_stack, "e2e-long-reason", password)
    reason = (
        "Refund of the deposit for the flat at Keizersgracht 123, agreed with the landlord on "
        f"the handover, less the cleaning costs of the kitchen ({secrets.token_hex(3)})"
    )
    with chromium_page(390, 844) as page:
        sign_in(page, running_stack.soe_url, "e2e-long-reason", password)
        card = page.locator(f'.card[data-account="{account.iban}"]')
        card.wait_for(timeout=30_000)
        expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=30_000)
        clerk = BankClerk(running_stack.sor_url)
        clerk.sign_in()
        new_balance = account.balance + secrets.randbelow(9_000) + 1_000
        answer = clerk.change_balance(account.id, f"{new_balance / 100:.2f}", reason)
        assert answer.status_code == 302, f"admin refused the change: {answer.text[:800]}"

        shown = card.locator(".movements .reason", has_text=reason[:40]).first
        shown.wait_for(timeout=30_000)
        assert shown.get_attribute("title") == reason
        cut = "element => element.scrollWidth > element.clientWidth"
        assert shown.evaluate(cut), "the reason fits in one line: the test proves nothing"
        assert shown.evaluate("e => e.getBoundingClientRect().height") < 30

        shown.click()
        expect(shown).to_have_class(re.compile(r"\bexpanded\b"))
        expect(shown).to_have_attribute("aria-expanded", "true")
        assert not shown.evaluate(cut)
        assert shown.evaluate("e => e.getBoundingClientRect().height") > 30
        assert shown.inner_text() == reason
        shown.click()
        expect(shown).not_to_have_class(re.compile(r"\bexpanded\b"))
