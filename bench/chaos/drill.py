"""One round of a fault drill: watchers connect, clerks book, the fault strikes, the stack heals,
and the verdict is taken once everything has settled."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bench import bank_db
from bench.chaos import verdict as judge
from bench.chaos.cluster_faults import ClusterFault
from bench.chaos.failover import judge_failover
from bench.chaos.faults import Fault
from bench.chaos.load import DepositLoad, Ledger
from bench.chaos.stack_control import heal, wait_healthy
from bench.chaos.watchers import Audience, WatcherReport
from bench.clerk import live_token
from bench.teller import Booking
from events import topics
from kernel.settings import Settings
from ops.errors import OpsError
from ops.topic_reader import end_offsets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    accounts: int = 20
    rate: float = 20.0  # deposits a second
    clerks: int = 4
    steady_watchers: int = 2
    resuming_watchers: int = 2
    warm_up: float = 5.0  # seconds of load before the fault
    away: float = 5.0  # how long the resuming watchers stay away, from the fault on
    tail: float = 5.0  # seconds of load once a change booked after the fault was seen live
    recover_timeout: float = 180.0
    settle_timeout: float = 120.0


@dataclass
class RoundResult:
    fault: str
    round: int
    booked: int = 0
    confirmed: int = 0
    failed_attempts: int = 0
    abandoned: int = 0
    lost: int = 0
    duplicated: int = 0
    repeats: int = 0
    back_s: float | None = None  # fault to the component running again
    recover_s: float | None = None  # fault to a change booked after it seen by every watcher
    failover_s: float | None = None  # longest a watcher was away, lost connection to subscribed
    inconsistent_before: int = 0  # accounts the reconcile check found wrong before the round
    restarted_by_hand: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what happened around it, not its verdict
    watchers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def run_round(
    config: Settings, fault: Fault | ClusterFault, plan: Plan, number: int, run_id: str
) -> RoundResult:
    result = RoundResult(fault.name, number)
    _start_healthy(config, plan, result)
    fault.make_ready(config)
    broken_before = judge.inconsistent_accounts(config, settle=5)
    result.inconsistent_before = len(broken_before)
    accounts = bank_db.open_accounts(config, plan.accounts, excluding=broken_before)
    ibans = [account.iban for account in accounts]
    start = end_offsets(config.kafka_bootstrap, topics.BALANCE_CHANGED)
    others = {t: end_offsets(config.kafka_bootstrap, t) for t in (topics.BALANCES, topics.ALERTS)}
    key_prefix = f"chaos-{run_id}-{fault.name}-{number}-"
    audience = Audience(
        config, live_token(config), ibans, plan.steady_watchers, plan.resuming_watchers
    )
    audience.start()
    try:
        load = DepositLoad(config, ibans, key_prefix, plan.rate, plan.clerks)
        ledger = _strike_under_load(config, fault, plan, audience, load, result)
        log.info("%s round %d: settling", fault.name, number)
        settled = _settle(config, plan, result)
        booked = bank_db.entries_booked_with_keys(config, key_prefix)
        outcome, balances = judge_round(config, plan, booked, start, others, ibans, broken_before)
        audience.wait_until_showing(balances, timeout=30)
    finally:
        reports = audience.stop()
    judge.judge_watchers(outcome, reports, balances)
    _take_verdict(result, outcome, ledger, booked)
    result.failover_s, problems, notes = judge_failover(config, fault, reports)
    result.problems += problems
    result.notes += notes
    result.watchers = [_summary(report) for report in reports]
    if not settled:
        result.restarted_by_hand = heal(config)
    return result


def judge_round(
    config: Settings,
    plan: Plan,
    booked: list[Booking],
    start: dict[int, int],
    others: dict[str, dict[int, int]],
    ibans: list[str],
    broken_before: dict[str, str],
) -> tuple[judge.Verdict, dict[str, int]]:
    """What Kafka holds: each booked change once, sequences whole, balances reconciled; and the
    balances the watchers must show (the database's, of the round's accounts). Kafka (or another
    service) not answering when the verdict is taken fails the round, saying so: nothing was
    proven, and the other rounds still run."""
    outcome = judge.Verdict(booked=len(booked))
    try:
        events = judge.derived_events(config, start, booked, plan.settle_timeout)
        judge.judge_events(outcome, booked, events)
        judge.judge_reconciliation(outcome, config, settle=15, known_before=broken_before)
        judge.judge_other_topics(outcome, config, others, set(ibans))
    except OpsError as error:
        where = f" ({error.where})" if error.where else ""
        outcome.unjudged.append(f"no verdict: {error.what}{where}")
        return outcome, {}
    balances = bank_db.balances(config)
    return outcome, {iban: balances[iban] for iban in ibans}


def _strike_under_load(
    config: Settings,
    fault: Fault | ClusterFault,
    plan: Plan,
    audience: Audience,
    load: DepositLoad,
    result: RoundResult,
) -> Ledger:
    """Books for the warm-up, strikes, waits until a change booked after the fault is seen
    live, books a little longer, and returns what the clerks were told."""
    load.start()
    try:
        time.sleep(plan.warm_up)
        struck_at = time.monotonic()
        audience.step_away(plan.away)
        log.info("%s round %d: striking", fault.name, result.round)
        try:
            struck = fault.strike(config, plan.recover_timeout)
            result.back_s = round(struck.seconds, 1)
            result.notes += struck.notes
            result.problems += struck.problems
        except TimeoutError as error:
            result.problems.append(f"{fault.component} did not come back: {error}")
        result.recover_s = _wait_recovered(audience, load, struck_at, plan.recover_timeout)
        if result.recover_s is None:
            result.problems.append(
                "no change booked after the fault reached every watcher "
                f"within {plan.recover_timeout:.0f}s"
            )
        time.sleep(plan.tail)
    finally:
        ledger = load.stop()
    return ledger


def _start_healthy(config: Settings, plan: Plan, result: RoundResult) -> None:
    """A stack left unhealthy by something else is healed first: noted, not this fault's."""
    try:
        wait_healthy(config, plan.settle_timeout)
    except TimeoutError as error:
        restarted = heal(config)
        result.notes.append(f"before the round: {error}; restarted by hand: {restarted}")
        wait_healthy(config, plan.settle_timeout)


def _settle(config: Settings, plan: Plan, result: RoundResult) -> bool:
    try:
        wait_healthy(config, plan.settle_timeout)
    except TimeoutError as error:
        result.problems.append(f"never recovered by itself: {error}")
        return False
    return True


def _wait_recovered(
    audience: Audience, load: DepositLoad, struck_at: float, timeout: float
) -> float | None:
    """Seconds from the fault until every steady watcher has seen a change asked for after it;
    None when that did not happen within `timeout` of the fault. The watchers note when they
    first saw each change, so a fault whose strike outlasted the timeout (it waits for the
    struck process to be back) is still timed by when the change was seen: the deadline is
    checked after one look, not before."""
    steady = [r for r in audience.reports() if r.kind == "steady"]
    deadline = struck_at + timeout
    while True:
        seconds = seconds_to_recover(steady, load.asked_since(struck_at), struck_at)
        if seconds is not None:
            return seconds if seconds <= timeout else None
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2)


def seconds_to_recover(
    steady: list[WatcherReport], asked_after: list[int], struck_at: float
) -> float | None:
    """When the last steady watcher first saw a change asked for after the fault, in seconds
    from the fault; None while one has seen none."""
    firsts = [
        min((r.first_seen[e] for e in asked_after if e in r.first_seen), default=None)
        for r in steady
    ]
    if not firsts or any(first is None for first in firsts):
        return None
    return round(max(firsts) - struck_at, 1)


def _take_verdict(
    result: RoundResult, outcome: judge.Verdict, ledger: Ledger, booked: list[Booking]
) -> None:
    result.booked, result.lost = outcome.booked, len(outcome.lost)
    result.duplicated, result.repeats = len(outcome.duplicated), outcome.repeats
    result.confirmed, result.failed_attempts = len(ledger.confirmed), ledger.failed_attempts
    result.abandoned = ledger.abandoned
    result.problems += outcome.problems
    result.problems += [f"refused: {answer}" for answer in ledger.refused]
    in_database = {b.entry_id for b in booked}
    result.problems += [
        f"the clerk was told ledger entry {b.entry_id} was booked; the database does not have it"
        for b in ledger.confirmed
        if b.entry_id not in in_database
    ]


def _summary(report: WatcherReport) -> dict[str, Any]:
    return {
        "name": report.name,
        "reconnects": report.reconnects,
        "resumes": report.resumes,
        "not_ready": report.not_ready,
        "gaps": len(report.gaps),
        "repeats": report.repeats,
        "fresh_snapshots": report.fresh_snapshots,
    }
