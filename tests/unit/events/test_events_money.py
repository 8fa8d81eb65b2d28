"""The one money module every component uses: exponents, parsing typed amounts, showing them."""

from decimal import Decimal

import pytest

from events.money import (
    CURRENCIES,
    EXPONENTS,
    InvalidAmount,
    UnknownCurrency,
    exponent,
    format_money,
    parse_amount,
    readable,
    to_minor_units,
)

pytestmark = pytest.mark.unit


def test_exponents_follow_iso_4217():
    assert (exponent("EUR"), exponent("JPY"), exponent("KWD")) == (2, 0, 3)
    assert set(CURRENCIES) == set(EXPONENTS)


@pytest.mark.parametrize(
    "text",
    [
        "\uff15",  # fullwidth 5
        "\uff11\uff12.\uff15\uff10",  # fullwidth 12.50
        "\u0661\u0662",  # Arabic-Indic 12
        "12.\uff15",
        "\u06f1\u06f2",  # Extended Arabic-Indic 12
        "\u0967\u0968",  # Devanagari 12
        "1 2",
        "+12",
    ],
)
def test_only_ascii_digits_are_an_amount(text):
    # Decimal() would read each of these as the number it looks like.
    with pytest.raises(InvalidAmount):
        parse_amount(text, "EUR")


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (10_000, "JPY", "10,000 JPY"),
        (10_000, "EUR", "100.00 EUR"),
        (10_000, "KWD", "10.000 KWD"),
        (-4500, "EUR", "-45.00 EUR"),
    ],
)
def test_amounts_read_in_major_units_by_the_currencys_exponent(minor, currency, shown):
    assert format_money(minor, currency) == shown


def test_a_change_reads_with_its_sign():
    assert format_money(100, "EUR", signed=True) == "+1.00 EUR"
    assert format_money(-100, "JPY", signed=True) == "-100 JPY"


def test_a_currency_from_outside_that_has_no_exponent_stays_in_minor_units_and_says_so():
    assert readable(1234, "XYZ") == "1234 XYZ (minor units)"
    assert readable(1234, "EUR") == "12.34 EUR"
    with pytest.raises(UnknownCurrency):
        format_money(1234, "XYZ")


def test_parsing_and_formatting_round_trip():
    assert parse_amount("1234.56", "EUR") == 123456
    assert parse_amount("10000", "JPY") == 10_000
    with pytest.raises(InvalidAmount, match="JPY allows no decimals"):
        parse_amount("1.5", "JPY")


def test_an_amount_in_major_units_becomes_each_currencys_minor_units_rounded():
    assert to_minor_units(Decimal("100"), "EUR") == 10_000
    assert to_minor_units(Decimal("100"), "JPY") == 100
    assert to_minor_units(Decimal("2500.5"), "JPY") == 2500  # to the nearest, half to even
    assert to_minor_units(Decimal("1.2345"), "KWD") == 1234
