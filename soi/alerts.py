"""The alerts a customer gets about their accounts, from one account change."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from events.money import CURRENCIES, readable, to_minor_units
from kernel.settings import BankSettings, ConfigurationError

_MAJOR_UNITS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True)
class PerCurrency:
    """An amount in major units for every currency, with exceptions: 100 EUR and 100 USD are a
    low balance, 100 JPY is not (it is 15,000 JPY)."""

    default: Decimal
    by_currency: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Worked out once: the worker asks twice per change, thousands of times a second.
        in_minor = {
            currency: to_minor_units(self.by_currency.get(currency, self.default), currency)
            for currency in CURRENCIES
        }
        object.__setattr__(self, "_in_minor", in_minor)

    def minor(self, currency: str) -> int | None:
        """The amount in ``currency``'s minor units; None for a currency without an exponent."""
        return self._in_minor.get(currency)  # type: ignore[attr-defined]

    @classmethod
    def parse(cls, name: str, text: str) -> PerCurrency:
        """``"100,JPY:15000,KRW:150000"``: a default, then ``CUR:AMOUNT`` exceptions."""
        default: Decimal | None = None
        by_currency: dict[str, Decimal] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            currency, _, amount = part.rpartition(":")
            value = _major_units(name, amount, currency.strip().upper() or None)
            if currency:
                by_currency[currency.strip().upper()] = value
            else:
                default = value
        if default is None:
            raise ConfigurationError(
                f"{name}={text!r} has no amount for every other currency; start it with one, "
                "e.g. 100,JPY:15000"
            )
        return cls(default, by_currency)


def _major_units(name: str, text: str, currency: str | None) -> Decimal:
    if currency is not None and currency not in CURRENCIES:
        known = ", ".join(CURRENCIES)
        raise ConfigurationError(f"{name}: {currency!r} is not a currency ({known})")
    if not _MAJOR_UNITS.fullmatch(text.strip()):
        raise ConfigurationError(
            f"{name}: {text.strip()!r} is not an amount in major units, e.g. 100 or 2500.50"
        )
    return Decimal(text.strip())


DEFAULT_LOW_BALANCE = "100,JPY:15000,KRW:150000,ISK:15000"
DEFAULT_LARGE_MOVEMENT = "5000,JPY:750000,KRW:7500000,ISK:750000"
# These once held one amount in minor units for every currency; refusing them beats silently
# reading 10000 (100.00 EUR) as 10,000 EUR.
_RETIRED = {
    "BANK_ALERT_LOW_BALANCE": "BANK_ALERT_LOW_BALANCES",
    "BANK_ALERT_LARGE_MOVEMENT": ("BANK_ALERT_LARGE_MOVEMENTS"),
}


class ThresholdSettings(BankSettings):
    """The alert thresholds as written in the environment (BANK_ALERT_*)."""

    alert_low_balances: str = DEFAULT_LOW_BALANCE
    alert_large_movements: str = DEFAULT_LARGE_MOVEMENT
    # Retired: read only to refuse them.
    alert_low_balance: str | None = None
    alert_large_movement: str | None = None


@dataclass(frozen=True)
class Thresholds:
    low_balance: PerCurrency  # an account's own low_balance_threshold wins
    large_movement: PerCurrency  # absolute value of a single change

    @classmethod
    def from_environment(cls) -> Thresholds:
        written = ThresholdSettings.load()
        for old, new in _RETIRED.items():
            if getattr(written, old.removeprefix("BANK_").lower()):
                raise ConfigurationError(
                    f"{old} is no longer read; set {new} in major units per currency, "
                    f"e.g. {new}=100,JPY:15000"
                )
        return cls(
            low_balance=PerCurrency.parse("BANK_ALERT_LOW_BALANCES", written.alert_low_balances),
            large_movement=PerCurrency.parse(
                "BANK_ALERT_LARGE_MOVEMENTS", written.alert_large_movements
            ),
        )


# A status change the customer is told about, and how; the clerk's reason follows the words.
_STATUS_ALERTS = {
    "frozen": ("account_frozen", "has been frozen; contact your bank"),
    "open": ("account_unfrozen", "is open again"),
    "closed": ("account_closed", "has been closed"),
}


def raised_by(
    *,
    event_id: str,
    iban: str,
    customer_id: int | None,
    currency: str,
    old_balance: int,
    new_balance: int,
    old_status: str,
    new_status: str,
    account_threshold: int | None,
    thresholds: Thresholds,
    now_ms: int,
    status_reason: str = "",
) -> list[dict[str, Any]]:
    """Alerts for crossing a line, not for staying beyond it: each fires once per crossing."""
    delta = new_balance - old_balance
    low = (
        account_threshold
        if account_threshold is not None
        else thresholds.low_balance.minor(currency)
    )
    large = thresholds.large_movement.minor(currency)
    found: list[tuple[str, int | None, str]] = []
    if new_balance < 0 <= old_balance:
        found.append(
            ("overdraft_entered", 0, f"{iban} is overdrawn: {readable(new_balance, currency)}")
        )
    elif low is not None and new_balance < low <= old_balance:
        found.append(
            (
                "low_balance",
                low,
                f"{iban} fell below {readable(low, currency)}: {readable(new_balance, currency)}",
            )
        )
    if delta and large is not None and abs(delta) >= large:
        found.append(
            (
                "large_movement",
                large,
                f"A movement of {readable(delta, currency, signed=True)} on {iban}",
            )
        )
    if new_status != old_status and new_status in _STATUS_ALERTS:
        kind, told = _STATUS_ALERTS[new_status]
        why = f": {status_reason}" if status_reason else ""
        found.append((kind, None, f"{iban} {told}{why}"))
    return [
        {
            "alert_id": f"{event_id}:{kind}",
            "kind": kind,
            "customer_id": customer_id,
            "iban": iban,
            "currency": currency,
            "balance": new_balance,
            "amount": delta or None,
            "threshold": threshold,
            "message": message,
            "raised_at": now_ms,
        }
        for kind, threshold, message in found
    ]
