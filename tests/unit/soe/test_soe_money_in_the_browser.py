"""The dashboard shows an amount as every other part of the bank does: its formatter runs in the
headless Chromium the browser tests use, against events/money.py over a table of currencies and
amounts (the exponents reach it as they do in production, through the gateway's config.json)."""

from __future__ import annotations

import re

import pytest

from events.money import EXPONENTS, format_money, readable
from tests.support.browser import chromium_page

pytestmark = pytest.mark.unit

APP_JS = "soe/static/app.js"
CASES = [
    (123456, "EUR", False),
    (-123456, "EUR", True),
    (5, "EUR", False),
    (0, "USD", True),
    (1000000, "JPY", False),
    (-150000, "KRW", True),
    (15000, "ISK", False),
    (1234567, "KWD", False),
    (-1, "BHD", True),
    (99, "HUF", False),
    (900719925474099, "CZK", False),  # fifteen digits: the largest balance JSON carries exactly
]
# The sign and the digits of a formatted amount, whatever symbol stands beside them.
NUMBER = re.compile(r"([+-]?)[^0-9+-]*([0-9][0-9,]*(?:\.[0-9]+)?)")


def sign_and_digits(text: str) -> str:
    match = NUMBER.search(text.replace("\u2212", "-"))
    assert match, text
    return match[1] + match[2]


@pytest.fixture(scope="module")
def page():
    from kernel.settings import REPO_ROOT

    with chromium_page() as page:
        page.set_content("<!doctype html><title>money</title>")
        # app.js starts the dashboard on load and, on a blank page, finds no config.json: only
        # its formatter is wanted here.
        page.add_script_tag(content=(REPO_ROOT / APP_JS).read_text())
        page.evaluate("(table) => useCurrencyExponents(table)", EXPONENTS)
        yield page


@pytest.mark.parametrize(("minor", "currency", "signed"), CASES)
def test_the_dashboard_formats_money_as_the_bank_does(page, minor, currency, signed):
    shown = page.evaluate(
        "([minor, currency, signed]) => formatMoney(minor, currency, signed, 'en-US')",
        [minor, currency, signed],
    )
    expected = format_money(minor, currency, signed=signed).removesuffix(f" {currency}")
    assert sign_and_digits(shown) == expected


def test_a_currency_the_bank_does_not_know_stays_in_minor_units(page):
    shown = page.evaluate("() => formatMoney(1234, 'XAU', true)")
    assert shown == readable(1234, "XAU", signed=True)
