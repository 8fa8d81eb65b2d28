"""Money as integer minor units: reading what a person types, and showing it back.

Amounts never pass through floats. How many minor units a currency has comes from ISO 4217.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sor.bank.errors import InvalidAmount, UnknownCurrency

# ISO 4217 exponents of the currencies the bank keeps accounts in.
MINOR_UNIT_DIGITS: dict[str, int] = {
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
CURRENCIES: tuple[str, ...] = tuple(sorted(MINOR_UNIT_DIGITS))

# ASCII digits only: `\d` would also take fullwidth or Arabic-Indic digits, which int() and
# Decimal() read happily.
_DECIMAL_TEXT = re.compile(r"(?P<sign>-?)(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?")
# Keeps a typo such as a pasted account number from becoming an amount the database cannot hold.
_MAX_WHOLE_DIGITS = 15


def minor_unit_digits(currency: str) -> int:
    try:
        return MINOR_UNIT_DIGITS[currency]
    except KeyError:
        known = ", ".join(CURRENCIES)
        raise UnknownCurrency(f"{currency!r} is not a currency this bank keeps ({known})") from None


def parse_amount(text: str | int, currency: str) -> int:
    """``"1234.56"`` in EUR is 123456 minor units; ``"1234"`` in JPY is 1234."""
    digits = minor_unit_digits(currency)
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
    if len(match["whole"].lstrip("0")) > _MAX_WHOLE_DIGITS:
        raise InvalidAmount(f"{raw!r} is far too large to be an amount of money")
    return int(Decimal(raw).scaleb(digits))


def to_major_units(minor: int, currency: str) -> str:
    """123456 EUR minor units is ``"1234.56"``: the form in which a person edits an amount."""
    digits = minor_unit_digits(currency)
    return f"{Decimal(minor).scaleb(-digits):.{digits}f}"


def format_money(minor: int, currency: str) -> str:
    """123456 EUR minor units is ``"1,234.56 EUR"``: the form in which a person reads an amount."""
    digits = minor_unit_digits(currency)
    return f"{Decimal(minor).scaleb(-digits):,.{digits}f} {currency}"
