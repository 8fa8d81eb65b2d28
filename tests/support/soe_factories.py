"""Events and accounts as the system of integration writes them, for the gateway's unit tests."""

from __future__ import annotations

from typing import Any


def balance_state(
    iban: str,
    *,
    customer_id: int | None = 7,
    balance: int = 10_000,
    sequence: int = 0,
    status: str = "open",
    currency: str = "EUR",
) -> dict[str, Any]:
    return {
        "iban": iban,
        "account_id": 1,
        "customer_id": customer_id,
        "currency": currency,
        "balance": balance,
        "status": status,
        "sequence": sequence,
        "updated_at": 1_700_000_000_000,
        "event_id": f"sor:bin.000001:{sequence}:0",
    }


def change(
    iban: str, sequence: int, *, old: int = 10_000, delta: int = 100, customer_id: int | None = 7
) -> dict[str, Any]:
    return {
        "event_id": f"sor:bin.000001:{sequence}:0",
        "iban": iban,
        "account_id": 1,
        "customer_id": customer_id,
        "currency": "EUR",
        "old_balance": old,
        "new_balance": old + delta,
        "delta": delta,
        "sequence": sequence,
        "committed_at": 1_700_000_000_000 + sequence,
        "captured_at": 1_700_000_000_000 + sequence,
        "derived_at": 1_700_000_000_000 + sequence,
        "source_file": "bin.000001",
        "source_pos": sequence,
        "source_row": 0,
        "gtid": None,
        "kind": "deposit",
        "reason": f"change {sequence}",
        "clerk": "clerk",
        "ledger_entry_id": sequence,
        "ledger_match": "matched",
    }


def changes(
    iban: str, first: int, last: int, *, start_balance: int = 10_000
) -> list[dict[str, Any]]:
    """Consecutive changes of +100 each, sequences first..last."""
    return [change(iban, n, old=start_balance + 100 * (n - first)) for n in range(first, last + 1)]
