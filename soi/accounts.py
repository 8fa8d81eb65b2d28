"""Deriving balance events, the latest account state and alerts from the money CDC stream.

Pure functions: the Faust agent feeds them a parsed change and what it remembers of the account
(kept in a changelog-backed table) and publishes what they return. Idempotency rests here: an
account change at or before the last position seen for the account is skipped, so a replayed CDC
record never yields a second event or a second sequence number.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from events.position import SourcePosition
from soi import ledger
from soi.alerts import Thresholds, raised_by
from soi.cdc import Change, ContractViolation


@dataclass(frozen=True)
class AccountRow:
    account_id: int
    iban: str
    customer_id: int | None
    currency: str
    balance: int
    status: str
    low_balance_threshold: int | None
    status_reason: str = ""  # the clerk's words for the customer, when the status changed


@dataclass(frozen=True)
class AccountMemory:
    """What the worker remembers per account between records."""

    position: SourcePosition | None = None  # of the last account change processed
    sequence: int = 0
    balance: int = 0
    waiting: tuple[ledger.LedgerEntry, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "position": None if self.position is None else self.position.__dict__,
            "sequence": self.sequence,
            "balance": self.balance,
            "waiting": [entry.to_json() for entry in self.waiting],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> AccountMemory:
        if not data:
            return cls()
        position = data.get("position")
        return cls(
            position=SourcePosition(**position) if position else None,
            sequence=data["sequence"],
            balance=data["balance"],
            waiting=tuple(ledger.LedgerEntry.from_json(e) for e in data.get("waiting", ())),
        )


@dataclass(frozen=True)
class Outcome:
    memory: AccountMemory
    balance_changed: dict[str, Any] | None = None
    # The new latest state for bank.balances; None with delete_iban set means a tombstone.
    account_balance: dict[str, Any] | None = None
    delete_iban: str | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)


# What the system of record allows; a row outside it was written around the application.
STATUSES = frozenset({"open", "frozen", "closed"})
# Amounts travel as Avro longs.
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fits_long(value: int) -> bool:
    return LONG_MIN <= value <= LONG_MAX


def read_account(image: dict[str, Any]) -> AccountRow:
    try:
        balance = image["balance"]
        if not _is_int(balance) or not _fits_long(balance):
            raise ContractViolation(f"balance {balance!r} is not integer minor units")
        status = str(image.get("status") or "open")
        if status not in STATUSES:
            raise ContractViolation(f"status {status!r} is not one of {sorted(STATUSES)}")
        overdraft = image.get("overdraft_limit")
        if _is_int(overdraft) and balance < -overdraft:
            raise ContractViolation(
                f"balance {balance} is below the overdraft limit of {overdraft}"
            )
        customer_id = image.get("customer_id")
        threshold = image.get("low_balance_threshold")
        return AccountRow(
            account_id=int(image["id"]),
            iban=str(image["iban"]),
            customer_id=int(customer_id) if customer_id is not None else None,
            currency=str(image["currency"]),
            balance=balance,
            status=status,
            low_balance_threshold=threshold if _is_int(threshold) else None,
            status_reason=str(image.get("status_reason") or ""),
        )
    except KeyError as missing:
        raise ContractViolation(f"account row without {missing}") from None


def on_ledger_entry(change: Change, memory: AccountMemory) -> AccountMemory | None:
    """Remember a new entry until its balance update arrives; None when nothing changes."""
    if change.op != "c":
        return None  # snapshot reads and edits of old entries explain no new balance change
    waiting = ledger.remember(memory.waiting, ledger.read_entry(change), memory.position)
    return None if waiting == memory.waiting else replace(memory, waiting=waiting)


def on_account_change(
    change: Change, memory: AccountMemory, now_ms: int, thresholds: Thresholds
) -> Outcome | None:
    """What one account change means; None when it was already seen (a replay)."""
    if memory.position is not None and change.position <= memory.position:
        return None
    row = read_account(change.row)
    sequence = memory.sequence
    waiting = memory.waiting

    if change.op == "d":
        remembered = AccountMemory(change.position, sequence, row.balance, ())
        return Outcome(remembered, delete_iban=row.iban)

    before = read_account(change.before) if change.op == "u" and change.before else None
    if before is not None:
        old_balance = before.balance
    elif memory.position is not None:
        old_balance = memory.balance  # a re-snapshot or re-insert: compare with what we knew
    elif change.op == "c":
        old_balance = 0  # a new account: any opening balance is its first change
    else:
        old_balance = row.balance  # first snapshot read: the baseline, not a change

    committed_at = _commit_time(change)
    event = None
    if old_balance != row.balance:
        sequence += 1
        delta = row.balance - old_balance
        if not _fits_long(delta):
            raise ContractViolation(f"a change from {old_balance} to {row.balance} overflows")
        entry, waiting = ledger.take_match(waiting, change.gtid, delta, row.balance)
        event = _balance_changed(change, row, old_balance, sequence, committed_at, now_ms, entry)
    alerts = raised_by(
        event_id=change.position.event_id,
        iban=row.iban,
        customer_id=row.customer_id,
        currency=row.currency,
        old_balance=old_balance,
        new_balance=row.balance,
        old_status=before.status if before else row.status,
        new_status=row.status,
        status_reason=row.status_reason,
        account_threshold=row.low_balance_threshold,
        thresholds=thresholds,
        now_ms=now_ms,
    )
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
    # Entries up to this change belong to this or older transactions: they can match nothing now.
    waiting = ledger.forget_before(waiting, change.position)
    remembered = AccountMemory(change.position, sequence, row.balance, waiting)
    return Outcome(remembered, event, state, alerts=alerts)


def _balance_changed(
    change: Change,
    row: AccountRow,
    old_balance: int,
    sequence: int,
    committed_at: int,
    now_ms: int,
    entry: ledger.LedgerEntry | None,
) -> dict[str, Any]:
    return {
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
        "kind": entry.kind if entry else None,
        "reason": entry.reason if entry else None,
        "clerk": entry.clerk if entry else None,
        "ledger_entry_id": entry.entry_id if entry else None,
        "ledger_match": "matched" if entry else "none",
    }


def _commit_time(change: Change) -> int:
    """The row's updated_at (milliseconds, written in the committing transaction) when present.

    MariaDB's binlog stamps events in whole seconds, too coarse to measure delays; the account's
    own updated_at is set by the system of record a moment before commit.
    """
    updated_at = change.row.get("updated_at")
    return updated_at if _is_int(updated_at) else change.committed_at
