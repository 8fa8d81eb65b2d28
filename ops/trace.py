"""One account's latest changes hop by hop: the ledger row in the database, its CDC record, the
derived BalanceChanged event and the gateway's fan-out, with the delay of each hop.

Matching: the CDC topic carries an account's ledger entries and balance updates together, keyed
by account id. A ledger row's own CDC record is found by entry id; the balance update of the same
transaction by its GTID and balances (before = balance_after - amount, after = balance_after).
The derived event names its ledger entry, or else its source position is the update's. The
gateway is asked, by event id, when it fanned each derived event out (its `/fan-out`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from events import topics
from events.position import SourcePosition
from ops.database import AccountRow, Database, LedgerRow
from ops.errors import OpsError
from ops.gateway import FanOut, Gateway
from ops.kafka import Kafka
from ops.records import AVRO, DEBEZIUM, Record, from_message

# Kafka record times and database times come from different clocks; read from a little earlier.
_MARGIN_MS = 60_000

NOT_REMEMBERED = (
    "the gateway does not remember this event: not read by it yet (see `bankctl lag`), or older "
    "than the last events it keeps (BANK_SOE_FAN_OUT_LOG_SIZE, 10,000 by default)"
)
NOTHING_DERIVED = "no derived event to look for"


@dataclass(frozen=True)
class CdcHop:
    partition: int
    offset: int
    committed_at: int | None  # binlog event time: whole seconds on MariaDB
    captured_at: int | None  # when Debezium read it from the binlog
    event_id: str
    gtid: str | None


@dataclass(frozen=True)
class DerivedHop:
    partition: int
    offset: int
    derived_at: int
    sequence: int
    event_id: str
    ledger_match: str


@dataclass(frozen=True)
class ChangeTrace:
    entry: LedgerRow
    cdc: CdcHop | None
    derived: DerivedHop | None
    gateway: FanOut | None = None
    gateway_note: str | None = None  # why the gateway hop is missing

    @property
    def capture_delay(self) -> int | None:
        if self.cdc is None or self.cdc.captured_at is None:
            return None
        return self.cdc.captured_at - self.entry.created_at

    @property
    def derive_delay(self) -> int | None:
        if self.derived is None or self.cdc is None or self.cdc.captured_at is None:
            return None
        return self.derived.derived_at - self.cdc.captured_at

    @property
    def send_delay(self) -> int | None:
        if self.gateway is None or self.derived is None:
            return None
        return self.gateway.fanned_out_at - self.derived.derived_at

    @property
    def total(self) -> int | None:
        if self.gateway is not None:
            last: int | None = self.gateway.fanned_out_at
        else:
            last = self.derived.derived_at if self.derived else None
        return None if last is None else last - self.entry.created_at

    def to_json(self) -> dict[str, Any]:
        return {
            "ledger_entry": self.entry.__dict__,
            "cdc": None if self.cdc is None else self.cdc.__dict__,
            "derived": None if self.derived is None else self.derived.__dict__,
            "gateway": None if self.gateway is None else self.gateway.__dict__,
            "gateway_note": self.gateway_note,
            "delays_ms": {
                "database_to_cdc": self.capture_delay,
                "cdc_to_derived": self.derive_delay,
                "derived_to_gateway": self.send_delay,
                "total": self.total,
            },
        }


@dataclass(frozen=True)
class AccountTrace:
    account: AccountRow
    changes: list[ChangeTrace]
    cdc_topic: str
    events_topic: str
    gateway_url: str
    gateway_problem: str | None = None  # the gateway could not be asked

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account.__dict__,
            "cdc_topic": self.cdc_topic,
            "events_topic": self.events_topic,
            "gateway": {"url": self.gateway_url, "problem": self.gateway_problem},
            "changes": [c.to_json() for c in self.changes],
        }


def trace(
    database: Database,
    kafka: Kafka,
    gateway: Gateway,
    iban: str,
    limit: int = 5,
    cdc_topic: str = topics.CDC_MONEY,
    events_topic: str = topics.BALANCE_CHANGED,
) -> AccountTrace:
    account = database.account(iban)
    entries = database.ledger(account.id, limit)
    if not entries:
        return AccountTrace(account, [], cdc_topic, events_topic, gateway.url)
    since = min(e.created_at for e in entries) - _MARGIN_MS
    cdc = [r for r in _read_since(kafka, cdc_topic, since) if _cdc_of(r, account.id)]
    events = [
        r
        for r in _read_since(kafka, events_topic, since)
        if r.format == AVRO and r.key == account.iban
    ]
    updates = [r for r in cdc if r.type == "account" and r.value.get("op") == "u"]
    entry_records = {
        r.value["after"]["id"]: r
        for r in cdc
        if r.type == "ledger_entry" and r.value.get("op") == "c" and r.value.get("after")
    }
    changes, used = [], set()
    for entry in entries:
        update = _update_of(entry, entry_records.get(entry.id), updates, used)
        hop = None if update is None else _cdc_hop(update)
        changes.append(ChangeTrace(entry, hop, _derived_hop(entry, hop, events)))
    try:
        fan_outs = gateway.fan_outs(c.derived.event_id for c in changes if c.derived)
    except OpsError as error:
        problem = f"{error.what} ({gateway.url})"
        return AccountTrace(
            account,
            [replace(c, gateway_note=problem if c.derived else NOTHING_DERIVED) for c in changes],
            cdc_topic,
            events_topic,
            gateway.url,
            problem,
        )
    return AccountTrace(
        account,
        [_with_fan_out(c, fan_outs) for c in changes],
        cdc_topic,
        events_topic,
        gateway.url,
    )


def _with_fan_out(change: ChangeTrace, fan_outs: dict[str, FanOut]) -> ChangeTrace:
    if change.derived is None:
        return replace(change, gateway_note=NOTHING_DERIVED)
    found = fan_outs.get(change.derived.event_id)
    return replace(change, gateway=found, gateway_note=None if found else NOT_REMEMBERED)


def _read_since(kafka: Kafka, topic: str, since_ms: int) -> list[Record]:
    positions = kafka.positions(topic)
    marks = kafka.watermarks(positions)
    starts = kafka.offsets_at(positions, since_ms)
    ranges = {p: (max(starts[p], marks[p][0]), marks[p][1]) for p in positions}
    return [from_message(m) for m in kafka.read(ranges)]


def _cdc_of(record: Record, account_id: int) -> bool:
    if record.format != DEBEZIUM:
        return False
    row = record.value.get("after") or record.value.get("before") or {}
    owner = row.get("id") if record.type == "account" else row.get("account_id")
    return owner == account_id


def _update_of(
    entry: LedgerRow, entry_record: Record | None, updates: list[Record], used: set[int]
) -> Record | None:
    gtid = _source(entry_record).get("gtid") if entry_record else None
    for update in updates:
        if id(update) in used:
            continue
        before, after = update.value.get("before") or {}, update.value["after"]
        same_change = (
            before.get("balance") == entry.balance_after - entry.amount
            and after.get("balance") == entry.balance_after
        )
        if same_change and (gtid is None or _source(update).get("gtid") == gtid):
            used.add(id(update))
            return update
    return None


def _source(record: Record) -> dict[str, Any]:
    return record.value.get("source") or {}


def _cdc_hop(update: Record) -> CdcHop:
    source = _source(update)
    try:
        event_id = SourcePosition.from_source(source).event_id
    except (KeyError, TypeError, ValueError):
        event_id = "(no binlog position)"  # matches no derived event
    return CdcHop(
        partition=update.partition,
        offset=update.offset,
        committed_at=source.get("ts_ms"),
        captured_at=update.value.get("ts_ms"),
        event_id=event_id,
        gtid=source.get("gtid"),
    )


def _derived_hop(entry: LedgerRow, cdc: CdcHop | None, events: list[Record]) -> DerivedHop | None:
    for record in events:
        event = record.value
        if event.get("ledger_entry_id") == entry.id or (cdc and event["event_id"] == cdc.event_id):
            return DerivedHop(
                partition=record.partition,
                offset=record.offset,
                derived_at=event["derived_at"],
                sequence=event["sequence"],
                event_id=event["event_id"],
                ledger_match=event.get("ledger_match", "none"),
            )
    return None
