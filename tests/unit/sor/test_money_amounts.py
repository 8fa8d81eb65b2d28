"""Amounts typed by people become integer minor units, and are shown back the same way."""

import pytest

from sor.bank.errors import InvalidAmount, UnknownCurrency
from sor.bank.money import format_money, parse_amount, to_major_units

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1234.56", "EUR", 123456),
        ("0.5", "EUR", 50),
        ("7", "EUR", 700),
        (" 12.30 ", "USD", 1230),
        ("-5.00", "EUR", -500),
        ("1234", "JPY", 1234),
        ("1.234", "KWD", 1234),
        (15, "EUR", 1500),
    ],
)
def test_an_amount_in_major_units_becomes_minor_units(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "says"),
    [
        ("12.345", "EUR", "too many decimals: EUR allows at most 2 decimals"),
        ("12.5", "JPY", "JPY allows no decimals"),
        ("1,234.56", "EUR", "use a dot for the decimals"),
        ("12,50", "EUR", "use a dot for the decimals"),
        ("abc", "EUR", "is not an amount"),
        ("1e5", "EUR", "is not an amount"),
        ("--5", "EUR", "is not an amount"),
        ("", "EUR", "Enter an amount"),
        ("9" * 30, "EUR", "far too large"),
        (True, "EUR", "is not an amount"),
        # Only ASCII digits: int() and Decimal() would read these as 5, 12, 5 and 5.
        ("\uff15", "EUR", "is not an amount"),
        ("\u0661\u0662", "EUR", "is not an amount"),
        ("\u00a05", "EUR", "is not an amount"),
        ("5\n", "EUR", "is not an amount"),
    ],
)
def test_a_bad_amount_is_refused_in_plain_words(text, currency, says):
    with pytest.raises(InvalidAmount, match=says):
        parse_amount(text, currency)


def test_an_unknown_currency_is_named():
    with pytest.raises(UnknownCurrency, match="'XYZ' is not a currency this bank keeps"):
        parse_amount("1.00", "XYZ")


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (123456, "EUR", "1,234.56 EUR"),
        (-5, "EUR", "-0.05 EUR"),
        (0, "USD", "0.00 USD"),
        (1234567, "JPY", "1,234,567 JPY"),
        (1234, "KWD", "1.234 KWD"),
    ],
)
def test_money_reads_with_thousands_separators_and_its_currency(minor, currency, shown):
    assert format_money(minor, currency) == shown


def test_major_units_round_trip_for_editing():
    assert to_major_units(123456, "EUR") == "1234.56"
    assert to_major_units(-50, "EUR") == "-0.50"
    assert to_major_units(1234, "JPY") == "1234"
    assert parse_amount(to_major_units(987654321, "EUR"), "EUR") == 987654321
