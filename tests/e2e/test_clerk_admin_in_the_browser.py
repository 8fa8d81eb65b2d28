"""The clerk's account list in headless Chromium at a laptop's 1366 px: every column shows and an
IBAN stays on one line."""

from __future__ import annotations

import pytest

from kernel.settings import ClerkLogin
from tests.support.browser import chromium_page

pytestmark = pytest.mark.e2e

LAPTOP = 1366


def test_the_account_list_fits_a_laptop_screen(running_stack):
    with chromium_page(width=LAPTOP, height=800) as page:
        page.goto(running_stack.sor_url + "/admin/login/")
        page.fill("#id_username", ClerkLogin.load().username)
        page.fill("#id_password", ClerkLogin.load().password)
        page.click("input[type=submit]")
        page.goto(running_stack.sor_url + "/admin/bank/account/")

        table = page.locator("#result_list").bounding_box()
        assert table["x"] + table["width"] <= LAPTOP, "columns cut off at the right"
        headings = page.locator("#result_list thead th").all_inner_texts()
        assert {"IBAN", "CUSTOMER", "BALANCE", "STATUS"} <= {h.strip().upper() for h in headings}
        iban = page.locator("#result_list .field-iban_grouped").first
        line = float(iban.evaluate("cell => getComputedStyle(cell).lineHeight").rstrip("px"))
        assert iban.locator("a").bounding_box()["height"] < 2 * line, "the IBAN wraps"
