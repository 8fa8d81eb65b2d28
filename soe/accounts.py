"""The gateway's picture of every account: latest state plus a short, gap-free history.

Pure logic, fed by the feed from ``bank.balances`` (latest state, compacted) and
``bank.balance-changed`` (every change). The two topics are not ordered against each other, so
balance and sequence always take whichever side has the higher sequence.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

Event = dict[str, Any]


@dataclass
class Account:
    iban: str
    account_id: int
    customer_id: int | None
    currency: str
    balance: int
    sequence: int
    status: str
    updated_at: int
    # BalanceChanged events with consecutive sequences, oldest first; never past ``sequence``.
    history: deque[Event] = field(default_factory=deque)


@dataclass(frozen=True)
class StateChange:
    """What a ``bank.balances`` record did to the book, so the hub can tell the watchers."""

    account: Account
    created: bool
    status_changed: bool
    previous_owner: int | None


class AccountBook:
    def __init__(self, history_per_account: int) -> None:
        self._history_limit = history_per_account
        self._accounts: dict[str, Account] = {}
        self._by_customer: dict[int, set[str]] = {}

    def __len__(self) -> int:
        return len(self._accounts)

    def get(self, iban: str) -> Account | None:
        return self._accounts.get(iban)

    def all(self) -> list[Account]:
        return list(self._accounts.values())

    def owned_by(self, customer_id: int) -> list[Account]:
        return [self._accounts[iban] for iban in sorted(self._by_customer.get(customer_id, ()))]

    def find(self, query: str) -> list[Account]:
        """The accounts whose IBAN holds ``query`` (spaces and case ignored) or, for a number,
        whose customer it is; every account for an empty query. The customer's accounts come
        first (a short number is in many IBANs too), then by IBAN."""
        wanted = "".join(query.split()).upper()
        customer = int(wanted) if wanted.isascii() and wanted.isdigit() else None

        def theirs(account: Account) -> bool:
            return customer is not None and account.customer_id == customer

        found = [
            account
            for account in self._accounts.values()
            if wanted in account.iban or theirs(account)
        ]
        return sorted(found, key=lambda account: (not theirs(account), account.iban))

    def apply_balance(self, state: Event) -> StateChange:
        """Apply one AccountBalance record (the latest state of an account)."""
        account = self._accounts.get(state["iban"])
        if account is None:
            account = self._add(state, balance=state["balance"], sequence=state["sequence"])
            return StateChange(account, created=True, status_changed=False, previous_owner=None)
        previous_owner, previous_status = account.customer_id, account.status
        self._set_owner(account, state["customer_id"])
        account.account_id = state["account_id"]
        account.currency = state["currency"]
        account.status = state["status"]
        if state["sequence"] >= account.sequence:
            account.balance = state["balance"]
            account.sequence = state["sequence"]
            account.updated_at = state["updated_at"]
        return StateChange(
            account,
            created=False,
            status_changed=account.status != previous_status,
            previous_owner=previous_owner,
        )

    def remove(self, iban: str) -> Account | None:
        """A tombstone: the account was deleted from the system of record."""
        account = self._accounts.pop(iban, None)
        if account is not None:
            self._set_owner(account, None)
        return account

    def apply_change(self, event: Event) -> bool:
        """Record one BalanceChanged; False when it is a replay of one already seen."""
        account = self._accounts.get(event["iban"])
        if account is None:
            account = self._add(
                {**event, "status": "open", "updated_at": event["committed_at"]},
                balance=event["new_balance"],
                sequence=event["sequence"],
            )
        history = account.history
        sequence = event["sequence"]
        if history and sequence <= history[-1]["sequence"]:
            return False
        if history and sequence != history[-1]["sequence"] + 1:
            # Keep the history gap-free, so resume can trust it to hold every event it covers.
            history.clear()
        history.append(event)
        if len(history) > self._history_limit:
            history.popleft()
        self._set_owner(account, event.get("customer_id", account.customer_id))
        if sequence > account.sequence:
            account.balance = event["new_balance"]
            account.sequence = sequence
            account.updated_at = event["committed_at"]
        return True

    def missed_since(self, account: Account, sequence: int) -> list[Event] | None:
        """The events after ``sequence``, or None when the history no longer holds all of them
        (or the client claims a sequence the gateway has never seen)."""
        if sequence > account.sequence:
            return None
        if sequence == account.sequence:
            return []
        history = account.history
        if not history or history[0]["sequence"] > sequence + 1:
            return None
        return [event for event in history if event["sequence"] > sequence]

    def _add(self, fields: Event, *, balance: int, sequence: int) -> Account:
        account = Account(
            iban=fields["iban"],
            account_id=fields["account_id"],
            customer_id=None,
            currency=fields["currency"],
            balance=balance,
            sequence=sequence,
            status=fields["status"],
            updated_at=fields["updated_at"],
        )
        self._accounts[account.iban] = account
        self._set_owner(account, fields.get("customer_id"))
        return account

    def _set_owner(self, account: Account, customer_id: int | None) -> None:
        if account.customer_id is not None and account.customer_id != customer_id:
            owned = self._by_customer.get(account.customer_id)
            if owned is not None:
                owned.discard(account.iban)
                if not owned:
                    del self._by_customer[account.customer_id]
        account.customer_id = customer_id
        if customer_id is not None:
            self._by_customer.setdefault(customer_id, set()).add(account.iban)
