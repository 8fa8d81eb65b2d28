"""Deriving balance events and the latest account state from the account table's changes.

Pure functions: the Faust agent feeds them a parsed change and the account's progress (kept in a
changelog-backed table) and publishes what they return. Idempotency rests here: a change at or
before the last position seen for the account is skipped, so a replayed CDC record never yields
a second event or a second sequence number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from soi.cdc import Change, ContractViolation, SourcePosition


@dataclass(frozen=True)
class AccountRow:
    account_id: int
    iban: str
    customer_id: int | None
    currency: str
    balance: int
    status: str


@dataclass(frozen=True)
class Progress:
    """What the worker remembers per account: the last position seen, sequence and balance."""

    position: SourcePosition
    sequence: int
    balance: int

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.position.file,
            "pos": self.position.pos,
            "row": self.position.row,
            "sequence": self.sequence,
            "balance": self.balance,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Progress | None:
        if not data:
            return None
        position = SourcePosition(data["file"], data["pos"], data["row"])
        return cls(position, data["sequence"], data["balance"])


@dataclass(frozen=True)
class Outcome:
    progress: Progress
    balance_changed: dict[str, Any] | None = None
    # The new latest state for bank.balances; None with delete_iban set means a tombstone.
    account_balance: dict[str, Any] | None = None
    delete_iban: str | None = None


def read_account(image: dict[str, Any]) -> AccountRow:
    try:
        balance = image["balance"]
        if isinstance(balance, bool) or not isinstance(balance, int):
            raise ContractViolation(f"balance {balance!r} is not integer minor units")
        customer_id = image.get("customer_id")
        return AccountRow(
            account_id=int(image["id"]),
            iban=str(image["iban"]),
            customer_id=int(customer_id) if customer_id is not None else None,
            currency=str(image["currency"]),
            balance=balance,
            status=str(image.get("status") or "open"),
        )
    except KeyError as missing:
        raise ContractViolation(f"account row without {missing}") from None


def derive(change: Change, progress: Progress | None, now_ms: int) -> Outcome | None:
    """What one account change means; None when it was already seen (a replay)."""
    if progress is not None and change.position <= progress.position:
        return None
    row = read_account(change.row)
    sequence = progress.sequence if progress else 0

    if change.op == "d":
        return Outcome(Progress(change.position, sequence, row.balance), delete_iban=row.iban)

    if change.op == "u":
        old_balance = read_account(change.before).balance if change.before else row.balance
    elif progress is not None:
        old_balance = progress.balance  # a re-snapshot or re-insert: compare with what we knew
    elif change.op == "c":
        old_balance = 0  # a new account: any opening balance is its first change
    else:
        old_balance = row.balance  # first snapshot read: the baseline, not a change

    committed_at = _commit_time(change)
    event = None
    if old_balance != row.balance:
        sequence += 1
        event = {
            "event_id": change.position.event_id,
            "iban": row.iban,
            "account_id": row.account_id,
            "customer_id": row.customer_id,
            "currency": row.currency,
            "old_balance": old_balance,
            "new_balance": row.balance,
            "delta": row.balance - old_balance,
            "sequence": sequence,
            "committed_at": committed_at,
            "captured_at": change.captured_at,
            "derived_at": now_ms,
            "source_file": change.position.file,
            "source_pos": change.position.pos,
            "source_row": change.position.row,
            "gtid": change.gtid,
            "kind": None,
            "reason": None,
            "clerk": None,
            "ledger_entry_id": None,
            "ledger_match": "none",
        }
    state = {
        "iban": row.iban,
        "account_id": row.account_id,
        "customer_id": row.customer_id,
        "currency": row.currency,
        "balance": row.balance,
        "status": row.status,
        "sequence": sequence,
        "updated_at": committed_at,
        "event_id": change.position.event_id,
    }
    return Outcome(Progress(change.position, sequence, row.balance), event, state)


def _commit_time(change: Change) -> int:
    """The row's updated_at (milliseconds, written in the committing transaction) when present.

    MariaDB's binlog stamps events in whole seconds, too coarse to measure delays; the account's
    own updated_at is set by the system of record a moment before commit.
    """
    updated_at = change.row.get("updated_at")
    if isinstance(updated_at, int) and not isinstance(updated_at, bool):
        return updated_at
    return change.committed_at
