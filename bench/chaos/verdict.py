"""After a round: was every booked change derived exactly once, with no gap in any account's
sequence, do bank.balances and the database agree, and does every watcher show the truth?"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from bench.chaos.watchers import WatcherReport
from bench.teller import Booking
from events import topics
from kernel.settings import Settings
from kernel.wait import poll
from ops.config import database as database_address
from ops.database import Database
from ops.errors import Unreachable
from ops.kafka import Kafka
from ops.reconcile import Reconciliation
from ops.topic_reader import read


@dataclass
class Verdict:
    booked: int = 0  # ledger entries the database holds under the round's keys
    lost: list[int] = field(default_factory=list)  # booked, never derived
    duplicated: list[int] = field(default_factory=list)  # derived under two or more event ids
    repeats: int = 0  # extra copies of an event under its own id in bank.balance-changed
    # Extra copies of one record in bank.balances (same event id) and bank.alerts (same alert).
    other_repeats: dict[str, int] = field(default_factory=dict)
    wrong_amounts: list[str] = field(default_factory=list)
    sequence_gaps: list[str] = field(default_factory=list)
    reconcile: list[str] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    # Why (part of) the verdict could not be taken: a service that did not answer.
    unjudged: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [
            *self.unjudged,
            *(
                f"lost: ledger entry {entry} never reached {topics.BALANCE_CHANGED}"
                for entry in self.lost
            ),
            *(
                f"duplicated: ledger entry {entry} has several event ids"
                for entry in self.duplicated
            ),
            *(
                [f"repeated: {self.repeats} events appear twice in {topics.BALANCE_CHANGED}"]
                if self.repeats
                else []
            ),
            *(f"repeated: {n} records appear twice in {t}" for t, n in self.other_repeats.items()),
            *self.wrong_amounts,
            *self.sequence_gaps,
            *(f"reconcile: {mismatch}" for mismatch in self.reconcile),
            *self.clients,
        ]


def derived_events(
    config: Settings, start: dict[int, int], booked: list[Booking], timeout: float
) -> list[dict[str, Any]]:
    """Every BalanceChanged event since `start`, read again until each booked entry has one or
    `timeout` has passed (what is missing then is lost). Kafka not answering is waited out within
    the same `timeout`; still not answering then, its Unreachable is raised: nothing can be said
    about what was derived."""
    wanted = {booking.entry_id for booking in booked}
    unreachable: list[Unreachable] = []

    def events_now() -> list[dict[str, Any]] | None:
        try:
            records = read(config.kafka_bootstrap, topics.BALANCE_CHANGED, start)
        except Unreachable as error:
            unreachable[:] = [error]
            return None
        return [r.value for r in records if r.value is not None]

    events = poll(
        events_now,
        until=lambda events: events is not None
        and wanted <= {e["ledger_entry_id"] for e in events},
        timeout=timeout,
        every=1,
    )
    if events is None:
        raise unreachable[-1]
    return events


def judge_events(verdict: Verdict, booked: list[Booking], events: list[dict[str, Any]]) -> None:
    by_entry: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_entry[event["ledger_entry_id"]].append(event)
    verdict.booked = len(booked)
    for booking in booked:
        copies = by_entry.get(booking.entry_id, [])
        event_ids = {e["event_id"] for e in copies}
        if not copies:
            verdict.lost.append(booking.entry_id)
            continue
        if len(event_ids) > 1:
            verdict.duplicated.append(booking.entry_id)
        verdict.repeats += len(copies) - len(event_ids)
        if any(
            (e["delta"], e["new_balance"]) != (booking.amount, booking.balance_after)
            for e in copies
        ):
            verdict.wrong_amounts.append(
                f"ledger entry {booking.entry_id}: derived amounts differ from the ledger's "
                f"({booking.amount:+d} to {booking.balance_after})"
            )
    judge_sequences(verdict, {b.iban for b in booked}, events)


def judge_other_topics(
    verdict: Verdict, config: Settings, starts: dict[str, dict[int, int]], ibans: set[str]
) -> None:
    """bank.balances and bank.alerts, read with read_committed, hold each record once too."""
    ids = {topics.BALANCES: "event_id", topics.ALERTS: "alert_id"}
    for topic, start in starts.items():
        records = read(config.kafka_bootstrap, topic, start)
        seen = [
            r.value[ids[topic]] for r in records if r.value is not None and r.value["iban"] in ibans
        ]
        if len(seen) != len(set(seen)):
            verdict.other_repeats[topic] = len(seen) - len(set(seen))


def judge_sequences(verdict: Verdict, ibans: set[str], events: list[dict[str, Any]]) -> None:
    """Per account, the events read (once per event id, whoever booked them) rise by one."""
    sequences: dict[str, dict[str, int]] = defaultdict(dict)
    for event in events:
        if event["iban"] in ibans:
            sequences[event["iban"]][event["event_id"]] = event["sequence"]
    for iban, by_id in sequences.items():
        seen = sorted(by_id.values())
        if len(set(seen)) != len(seen):
            verdict.sequence_gaps.append(f"{iban}: two events share a sequence in {seen}")
        missing = sorted(set(range(seen[0], seen[-1] + 1)) - set(seen))
        if missing:
            verdict.sequence_gaps.append(f"{iban}: sequences {missing} missing")


def inconsistent_accounts(config: Settings, settle: float) -> dict[str, str]:
    """The ops console's own check (`bankctl reconcile`) over every account of the bank: what
    is wrong with each account whose database balance, bank.balances and events disagree."""
    database = Database(database_address())
    try:
        report = Reconciliation(database, Kafka(config.kafka_bootstrap)).run(settle)
    finally:
        database.close()
    return {m.iban: "; ".join(m.problems) for m in report.mismatches}


def judge_reconciliation(
    verdict: Verdict, config: Settings, settle: float, known_before: Collection[str]
) -> None:
    """Accounts that stopped adding up during the round (those broken before are not its)."""
    verdict.reconcile = [
        f"{iban}: {problems}"
        for iban, problems in inconsistent_accounts(config, settle).items()
        if iban not in known_before
    ]


def judge_watchers(
    verdict: Verdict, reports: list[WatcherReport], balances: dict[str, int]
) -> None:
    for report in reports:
        name = f"watcher {report.name}"
        verdict.clients += [f"{name}: gap {gap}" for gap in report.gaps]
        verdict.clients += [f"{name}: chain broken {b}" for b in report.chain_breaks]
        verdict.clients += [f"{name}: {problem}" for problem in report.problems]
        if report.repeats:
            verdict.clients.append(f"{name}: {report.repeats} sequences shown twice")
        if report.fresh_snapshots:
            verdict.clients.append(f"{name}: resume refused {report.fresh_snapshots} times")
        for iban, balance in balances.items():
            view = report.views.get(iban)
            if view is None or view.balance != balance:
                shown = "nothing" if view is None else view.balance
                verdict.clients.append(f"{name}: {iban} shows {shown}, the database {balance}")
