"""Money for every component: integer minor units, read from what a person types, shown as major
units with the currency code.

One module so that the system of record, the worker's alerts and the ops console agree on how
many decimals a currency has: a second formatter is where "10,000 JPY shown as 100.00 JPY" came
from. Amounts never pass through floats.
"""

from __future__ import annotations

import re
from decimal import Decimal

# ISO 4217 exponents (digits after the decimal point) of the currencies the bank keeps accounts in.
EXPONENTS: dict[str, int] = {
    "AUD": 2,
    "BHD": 3,
    "CAD": 2,
    "CHF": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HUF": 2,
    "ISK": 0,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "NOK": 2,
    "PLN": 2,
    "SEK": 2,
    "USD": 2,
}
CURRENCIES: tuple[str, ...] = tuple(sorted(EXPONENTS))

# ASCII digits only: `\d` also matches fullwidth and Arabic-Indic digits, which Decimal would
# happily read as the amount they look like.
_DECIMAL_TEXT = re.compile(r"(?P<sign>-?)(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?")
# Keeps a typo such as a pasted account number from becoming an amount the database cannot hold.
MAX_WHOLE_DIGITS = 15


class MoneyError(ValueError):
    """An amount or currency that cannot be money; the message says what to write instead."""


class InvalidAmount(MoneyError):
    pass


class UnknownCurrency(MoneyError):
    pass


def exponent(currency: str) -> int:
    """How many minor units digits ``currency`` has: 2 for EUR, 0 for JPY, 3 for KWD."""
    try:
        return EXPONENTS[currency]
    except (KeyError, TypeError):
        known = ", ".join(CURRENCIES)
        raise UnknownCurrency(f"{currency!r} is not a currency this bank keeps ({known})") from None


def parse_amount(text: str | int, currency: str) -> int:
    """``"1234.56"`` in EUR is 123456 minor units; ``"1234"`` in JPY is 1234."""
    digits = exponent(currency)
    if isinstance(text, bool):
        raise InvalidAmount(f"{text!r} is not an amount; write it like 1234.56")
    # Only ASCII spaces around it are forgiven; str.strip() would also drop a no-break space.
    raw = str(text).strip(" ")
    if not raw:
        raise InvalidAmount("Enter an amount, for example 1234.56")
    if "," in raw:
        raise InvalidAmount(
            f"{raw!r}: use a dot for the decimals and no thousands separators, for example 1234.56"
        )
    match = _DECIMAL_TEXT.fullmatch(raw)
    if not match:
        raise InvalidAmount(f"{raw!r} is not an amount; write it like 1234.56")
    fraction = match["fraction"] or ""
    if len(fraction) > digits:
        allowed = "no decimals" if digits == 0 else f"at most {digits} decimals"
        raise InvalidAmount(f"{raw!r} has too many decimals: {currency} allows {allowed}")
    if len(match["whole"].lstrip("0")) > MAX_WHOLE_DIGITS:
        raise InvalidAmount(f"{raw!r} is far too large to be an amount of money")
    return to_minor_units(Decimal(raw), currency)


def to_minor_units(major: Decimal, currency: str) -> int:
    """An amount in major units (a threshold written for every currency, say) in ``currency``'s
    minor units, rounded to the nearest one: 100 is 10000 in EUR, 100 in JPY."""
    return int(major.scaleb(exponent(currency)).to_integral_value())


def to_major_units(minor: int, currency: str) -> str:
    """123456 EUR minor units is ``"1234.56"``: the form in which a person edits an amount."""
    digits = exponent(currency)
    return f"{Decimal(minor).scaleb(-digits):.{digits}f}"


def format_money(minor: int, currency: str, *, signed: bool = False) -> str:
    """123456 EUR minor units is ``"1,234.56 EUR"`` (``"+1,234.56 EUR"`` when ``signed``): the
    form in which a person reads an amount."""
    digits = exponent(currency)
    sign = "+" if signed else ""
    return f"{Decimal(minor).scaleb(-digits):{sign},.{digits}f} {currency}"


def readable(minor: int, currency: str, *, signed: bool = False) -> str:
    """As ``format_money``, for text read from outside (a topic, a row): a currency this module
    does not know stays in minor units and says so, rather than failing the whole display."""
    try:
        return format_money(minor, currency, signed=signed)
    except UnknownCurrency:
        return f"{minor:{'+' if signed else ''}d} {currency} (minor units)"
