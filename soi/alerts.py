"""The alerts a customer gets about their accounts, from one account change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stack.settings import env_int


@dataclass(frozen=True)
class Thresholds:
    low_balance: int  # minor units; an account's own low_balance_threshold wins
    large_movement: int  # minor units, absolute value of a single change

    @classmethod
    def from_environment(cls) -> Thresholds:
        return cls(
            low_balance=env_int("BANK_ALERT_LOW_BALANCE", 10_000),
            large_movement=env_int("BANK_ALERT_LARGE_MOVEMENT", 500_000),
        )


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency}"


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
) -> list[dict[str, Any]]:
    """Alerts for crossing a line, not for staying beyond it: each fires once per crossing."""
    delta = new_balance - old_balance
    low = account_threshold if account_threshold is not None else thresholds.low_balance
    found: list[tuple[str, int | None, str]] = []
    if new_balance < 0 <= old_balance:
        found.append(
            ("overdraft_entered", 0, f"{iban} is overdrawn: {_money(new_balance, currency)}")
        )
    elif new_balance < low <= old_balance:
        found.append(
            (
                "low_balance",
                low,
                f"{iban} fell below {_money(low, currency)}: {_money(new_balance, currency)}",
            )
        )
    if delta and abs(delta) >= thresholds.large_movement:
        found.append(
            (
                "large_movement",
                thresholds.large_movement,
                f"A movement of {_money(delta, currency)} on {iban}",
            )
        )
    if new_status == "frozen" and old_status != "frozen":
        found.append(("account_frozen", None, f"{iban} has been frozen; contact your bank"))
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
