"""Does everything add up? Every account's balance in the database against its latest state in
bank.balances and against its BalanceChanged events.

The events of an account start when the worker first saw it (or where retention cut them off),
so their deltas alone do not make the balance. What they must make is the move from the balance
before the first retained event to now:

    first retained event's old_balance + sum of deltas == balance in the database

and, as a chain, each event starts where the previous one ended and sequences rise by exactly
one. Events are counted once per event_id (a replay republishes the same id). An account without
events has not changed since the worker first saw it; only bank.balances is compared for it.

The database is read first, then the topics up to their end offsets at that moment. The derived
side trails the database by the pipeline's delay, so a mismatch is looked at again, with fresh
reads of both, until it clears or `settle` seconds have passed; only what persists is reported.
IBANs that the topics know but the database does not are reported when bank.balances still
holds a state for them; events of an IBAN whose state was deleted (a tombstone) are history.

Inside the database, each balance must equal the sum of its ledger entries, and every entry
must have its account: the same check as `manage.py check_ledger` (``sor.bank.ledger_check``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from events import topics
from kernel.wait import poll
from ops.database import AccountRow, Database
from ops.kafka import Kafka, Position
from ops.records import AVRO, TOMBSTONE, Record, from_message
from sor.bank.ledger_check import LedgerTotals, orphan_problem

ABSENT = object()  # an IBAN never seen in the balances topic (a tombstone is None)


@dataclass(frozen=True)
class EventChain:
    """One account's BalanceChanged events, oldest first, once per event_id."""

    events: list[dict[str, Any]]

    @property
    def baseline(self) -> int:
        return self.events[0]["old_balance"]

    @property
    def delta_sum(self) -> int:
        return sum(e["delta"] for e in self.events)

    @property
    def balance(self) -> int:
        return self.baseline + self.delta_sum

    @property
    def last_sequence(self) -> int:
        return self.events[-1]["sequence"]

    def breaks(self) -> list[str]:
        found = []
        for before, after in zip(self.events, self.events[1:], strict=False):
            if after["sequence"] != before["sequence"] + 1:
                found.append(f"sequence jumps {before['sequence']} → {after['sequence']}")
            elif after["old_balance"] != before["new_balance"]:
                found.append(
                    f"seq {after['sequence']} starts at {after['old_balance']}, "
                    f"seq {before['sequence']} ended at {before['new_balance']}"
                )
        return found


@dataclass(frozen=True)
class Mismatch:
    iban: str
    account_id: int | None
    database: int | None
    balances_topic: int | None
    events: int | None
    problems: list[str]

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class Report:
    balances_topic: str
    changes_topic: str
    accounts: int = 0
    with_events: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # undecodable or of another type
    duplicates: int = 0
    rechecks: int = 0

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "mismatches": [m.to_json() for m in self.mismatches]}


class Reconciliation:
    def __init__(
        self,
        database: Database,
        kafka: Kafka,
        balances_topic: str = topics.BALANCES,
        changes_topic: str = topics.BALANCE_CHANGED,
    ) -> None:
        self.database, self.kafka = database, kafka
        self.report = Report(balances_topic, changes_topic)
        self._states: dict[str, dict[str, Any] | None] = {}
        self._events: dict[str, dict[str, dict[str, Any]]] = {}
        self._next: dict[Position, int] = {}

    def run(self, settle: float = 5.0) -> Report:
        accounts = self.database.accounts()
        suspects: list[str] | None = None

        def mismatches_now() -> list[Mismatch]:
            """Every account first; then, while the pipeline may still be on its way, the
            accounts that did not match, read afresh."""
            nonlocal suspects
            if suspects is None:
                self._catch_up()
                found = self._compare(accounts, self._known_ibans(accounts))
            else:
                self.report.rechecks += 1
                fresh = self.database.accounts(suspects)
                self._catch_up()
                found = self._compare(fresh, suspects)
            suspects = [m.iban for m in found]
            return found

        mismatches = poll(mismatches_now, until=lambda found: not found, timeout=settle, every=0.5)
        self.report.accounts = len(accounts)
        self.report.with_events = sum(1 for iban in accounts if self._events.get(iban))
        self.report.mismatches = self._with_ledger_breaks(mismatches)
        return self.report

    def _with_ledger_breaks(self, mismatches: list[Mismatch]) -> list[Mismatch]:
        """Adds the accounts whose balance is not what their ledger says, and ledger entries
        of accounts that do not exist."""
        by_iban = {m.iban: m for m in mismatches}
        for totals in self.database.ledger_totals():
            if totals.matches:
                continue
            if totals.iban in by_iban:
                by_iban[totals.iban].problems.append(totals.problem())
            else:
                by_iban[totals.iban] = ledger_mismatch(totals, self._states.get(totals.iban))
        for account_id, count in self.database.orphan_entries():
            key = f"account id {account_id}"
            by_iban[key] = Mismatch(
                key, account_id, None, None, None, [orphan_problem(account_id, count)]
            )
        return list(by_iban.values())

    def _known_ibans(self, accounts: dict[str, AccountRow]) -> list[str]:
        alive_in_topic = [iban for iban, state in self._states.items() if state is not None]
        return sorted({*accounts, *alive_in_topic})

    def _catch_up(self) -> None:
        """Read both topics from where the last read stopped to their ends now."""
        names = (self.report.balances_topic, self.report.changes_topic)
        positions = [p for name in names for p in self.kafka.positions(name)]
        marks = self.kafka.watermarks(positions)
        ranges = {p: (self._next.get(p, low), high) for p, (low, high) in marks.items()}
        for message in self.kafka.read(ranges):
            self._next[(message.topic(), message.partition())] = message.offset() + 1
            self._take(from_message(message))
        self._next.update({p: high for p, (_, high) in ranges.items()})

    def _take(self, record: Record) -> None:
        is_state = record.topic == self.report.balances_topic
        if is_state and record.format == TOMBSTONE and record.key is not None:
            self._states[record.key] = None
            return
        expected = "account_balance" if is_state else "balance_changed"
        if record.format != AVRO or record.type != expected:
            where = f"{record.topic}[{record.partition}]@{record.offset}"
            found = record.error or f"{record.type or record.format}, not {expected}"
            self.report.skipped.append(f"{where}: {found}")
        elif is_state:
            self._states[record.value["iban"]] = record.value
        else:
            seen = self._events.setdefault(record.value["iban"], {})
            if record.value["event_id"] in seen:
                self.report.duplicates += 1
            seen[record.value["event_id"]] = record.value

    def _compare(self, accounts: dict[str, AccountRow], ibans: Iterable[str]) -> list[Mismatch]:
        found = []
        for iban in ibans:
            events = self._events.get(iban)
            chain = (
                EventChain(sorted(events.values(), key=lambda e: e["sequence"])) if events else None
            )
            state = self._states.get(iban, ABSENT)
            mismatch = check_account(
                iban, accounts.get(iban), state, chain, self.report.balances_topic
            )
            if mismatch is not None:
                found.append(mismatch)
        return found


def ledger_mismatch(totals: LedgerTotals, state: Any) -> Mismatch:
    """An account whose balance differs from its ledger, topics otherwise in agreement."""
    return Mismatch(
        iban=totals.iban,
        account_id=totals.account_id,
        database=totals.balance,
        balances_topic=state["balance"] if isinstance(state, dict) else None,
        events=None,
        problems=[totals.problem()],
    )


def check_account(
    iban: str,
    account: AccountRow | None,
    state: Any,
    chain: EventChain | None,
    balances_topic: str = topics.BALANCES,
) -> Mismatch | None:
    """What is wrong with one IBAN; None when all agree. `state` is its latest value in the
    balances topic: a dict, None for a tombstone, or ABSENT when the topic never had it."""
    topic_balance = state["balance"] if isinstance(state, dict) else None
    problems = []
    if account is None:
        if not isinstance(state, dict):
            return None
        problems.append(f"{balances_topic} holds it, the database does not")
    else:
        if state is ABSENT:
            problems.append(f"missing from {balances_topic}")
        elif state is None:
            problems.append(f"deleted (tombstone) in {balances_topic}")
        elif topic_balance != account.balance:
            problems.append(f"{balances_topic} differs")
        if chain is not None and chain.balance != account.balance:
            problems.append(
                f"events differ: {chain.baseline} before seq {chain.events[0]['sequence']} "
                f"{chain.delta_sum:+d} in {len(chain.events)} events"
            )
    if chain is not None:
        problems += chain.breaks()
        if isinstance(state, dict) and state["sequence"] != chain.last_sequence:
            problems.append(
                f"{balances_topic} is at seq {state['sequence']}, "
                f"the last event at seq {chain.last_sequence}"
            )
    if not problems:
        return None
    return Mismatch(
        iban=iban,
        account_id=account.id if account else None,
        database=account.balance if account else None,
        balances_topic=topic_balance,
        events=chain.balance if chain else None,
        problems=problems,
    )
