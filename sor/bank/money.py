"""Money as integer minor units, in the system of record's error types.

The rules live in ``events.money``, shared by every component; this layer only turns its errors
into the bank's own, which the admin shows as form errors and the API sends with their code.
"""

from __future__ import annotations

from events import money
from events.money import CURRENCIES, EXPONENTS
from sor.bank.errors import InvalidAmount, UnknownCurrency

MINOR_UNIT_DIGITS: dict[str, int] = EXPONENTS
__all__ = [
    "CURRENCIES",
    "MINOR_UNIT_DIGITS",
    "format_money",
    "minor_unit_digits",
    "parse_amount",
    "to_major_units",
]


def minor_unit_digits(currency: str) -> int:
    try:
        return money.exponent(currency)
    except money.UnknownCurrency as error:
        raise UnknownCurrency(str(error)) from None


def parse_amount(text: str | int, currency: str) -> int:
    """``"1234.56"`` in EUR is 123456 minor units; ``"1234"`` in JPY is 1234."""
    minor_unit_digits(currency)
    try:
        return money.parse_amount(text, currency)
    except money.InvalidAmount as error:
        raise InvalidAmount(str(error)) from None


def to_major_units(minor: int, currency: str) -> str:
    """123456 EUR minor units is ``"1234.56"``: the form in which a person edits an amount."""
    minor_unit_digits(currency)
    return money.to_major_units(minor, currency)


def format_money(minor: int, currency: str) -> str:
    """123456 EUR minor units is ``"1,234.56 EUR"``: the form in which a person reads an amount."""
    minor_unit_digits(currency)
    return money.format_money(minor, currency)
