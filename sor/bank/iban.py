"""International Bank Account Numbers (ISO 13616): checking them and issuing our own.

The bank issues Dutch-format IBANs under the made-up bank code ``LIVE``, so a generated number is
valid by the mod-97 rule yet can never be mistaken for a real account elsewhere.
"""

from __future__ import annotations

import re
import secrets

from sor.bank.errors import InvalidIban

OUR_COUNTRY = "NL"
OUR_BANK_CODE = "LIVE"
_ACCOUNT_NUMBER_DIGITS = 10

# Lengths of the countries whose IBANs a customer is most likely to give us; others are checked
# against the general 15-34 range only.
COUNTRY_LENGTHS: dict[str, int] = {
    "AT": 20,
    "BE": 16,
    "CH": 21,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "ES": 24,
    "FI": 18,
    "FR": 27,
    "GB": 22,
    "IE": 22,
    "IT": 27,
    "LU": 20,
    "NL": 18,
    "NO": 15,
    "PL": 28,
    "PT": 25,
    "SE": 24,
}

_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


def normalize(text: str) -> str:
    """People write IBANs in groups of four and in any case; we store them compact, upper case."""
    return re.sub(r"\s+", "", text).upper()


def _as_number(text: str) -> int:
    return int("".join(str(int(char, 36)) for char in text))


def check_digits(country: str, bban: str) -> str:
    return f"{98 - _as_number(bban + country + '00') % 97:02d}"


def validate(text: str) -> str:
    """The compact IBAN, or InvalidIban saying what is wrong with it."""
    iban = normalize(text)
    if not _SHAPE.match(iban):
        raise InvalidIban(
            f"{text!r} is not an IBAN: it should be two letters, two check digits and up to "
            "30 letters or digits, like NL91 LIVE 0123 4567 89"
        )
    expected_length = COUNTRY_LENGTHS.get(iban[:2])
    if expected_length and len(iban) != expected_length:
        raise InvalidIban(
            f"{text!r} is not an IBAN: {iban[:2]} IBANs have {expected_length} characters, "
            f"this one has {len(iban)}"
        )
    if _as_number(iban[4:] + iban[:4]) % 97 != 1:
        raise InvalidIban(
            f"{text!r} is not an IBAN: its check digits do not match; look for a typo"
        )
    return iban


def is_valid(text: str) -> bool:
    try:
        validate(text)
    except InvalidIban:
        return False
    return True


def issue_new() -> str:
    """A fresh IBAN of this bank; the caller makes sure it is not taken yet."""
    return ours(secrets.randbelow(10**_ACCOUNT_NUMBER_DIGITS))


def ours(account_number: int) -> str:
    """The IBAN of this bank's account number: 17 is ``NL?? LIVE 0000 0000 17``."""
    if not 0 <= account_number < 10**_ACCOUNT_NUMBER_DIGITS:
        raise InvalidIban(
            f"{account_number} is not a {_ACCOUNT_NUMBER_DIGITS}-digit account number"
        )
    bban = f"{OUR_BANK_CODE}{account_number:0{_ACCOUNT_NUMBER_DIGITS}d}"
    return OUR_COUNTRY + check_digits(OUR_COUNTRY, bban) + bban


def grouped(iban: str) -> str:
    """``NL91LIVE0123456789`` reads as ``NL91 LIVE 0123 4567 89``."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
