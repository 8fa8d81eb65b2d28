"""Ledger entries waiting for the balance update of their transaction.

The connector routes ledger entries and account rows into one topic keyed by account, and the
system of record writes the entry before the balance, so an entry arrives just before the account
update it explains. It is remembered per account until that update, matched by the transaction's
GTID and the amount.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from events.position import SourcePosition
from soi.cdc import Change, ContractViolation

# More than a transaction ever books on one account; older unmatched entries are dropped.
MAX_WAITING = 16


@dataclass(frozen=True)
class LedgerEntry:
    entry_id: int
    account_id: int
    gtid: str | None
    position: SourcePosition
    amount: int
    balance_after: int
    kind: str
    reason: str
    clerk: str | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["position"] = asdict(self.position)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LedgerEntry:
        return cls(**{**data, "position": SourcePosition(**data["position"])})


def read_entry(change: Change) -> LedgerEntry:
    row = change.row
    try:
        amount, balance_after = row["amount"], row["balance_after"]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (amount, balance_after)):
            raise ContractViolation("ledger amounts are not integer minor units")
        return LedgerEntry(
            entry_id=int(row["id"]),
            account_id=int(row["account_id"]),
            gtid=change.gtid,
            position=change.position,
            amount=amount,
            balance_after=balance_after,
            kind=str(row["kind"]),
            reason=str(row.get("reason") or ""),
            clerk=row.get("created_by_username") or None,
        )
    except KeyError as missing:
        raise ContractViolation(f"ledger entry without {missing}") from None


def remember(
    waiting: tuple[LedgerEntry, ...], entry: LedgerEntry, seen_up_to: SourcePosition | None
) -> tuple[LedgerEntry, ...]:
    """Add an entry; a replayed one (at or before the account's last change) is not kept."""
    if seen_up_to is not None and entry.position <= seen_up_to:
        return waiting
    if any(w.entry_id == entry.entry_id for w in waiting):
        return waiting
    return (*waiting, entry)[-MAX_WAITING:]


def take_match(
    waiting: tuple[LedgerEntry, ...], gtid: str | None, delta: int, new_balance: int
) -> tuple[LedgerEntry | None, tuple[LedgerEntry, ...]]:
    """The entry of the same transaction that explains the change, and what is left waiting."""
    for entry in waiting:
        if (
            gtid is not None
            and entry.gtid == gtid
            and entry.amount == delta
            and entry.balance_after == new_balance
        ):
            return entry, tuple(w for w in waiting if w is not entry)
    return None, waiting


def forget_before(
    waiting: tuple[LedgerEntry, ...], position: SourcePosition
) -> tuple[LedgerEntry, ...]:
    """Entries older than a processed account change can no longer match anything."""
    return tuple(w for w in waiting if w.position > position)
