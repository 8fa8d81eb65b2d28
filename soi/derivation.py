"""Deriving a batch of money CDC records: what to publish, what to remember, what to refuse.

Pure: the pipeline hands it the records of one poll and a view of what each account remembers;
it returns every record to write, in input order, and the new memory of each account touched.
A record that breaks the contract becomes a dead letter with the reason; anything else that goes
wrong is a bug and propagates, so the pipeline aborts the batch instead of committing past it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from soi.accounts import AccountMemory, Outcome, on_account_change, on_ledger_entry
from soi.alerts import Thresholds
from soi.cdc import ContractViolation, parse_envelope

log = logging.getLogger(__name__)

# The derived topics by role; the pipeline maps each role to its topic and schema.
BALANCE_CHANGED = "balance_changed"
ACCOUNT_BALANCE = "account_balance"
ALERT = "alert"
DEAD_LETTER = "dead_letter"

MAX_DEAD_LETTER_VALUE = 256 * 1024


@dataclass(frozen=True)
class InputRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class Output:
    """One record to write: ``value`` None is a tombstone (an account deleted)."""

    role: str
    key: bytes
    value: dict[str, Any] | None


# Per input partition, account id -> what the account remembers.
Committed = Mapping[int, Mapping[str, AccountMemory]]


@dataclass
class Batch:
    """What a batch writes. Its memory changes apply to the committed state only once the
    batch's transaction commits; an aborted batch leaves that state as it was."""

    committed: Committed
    records: list[InputRecord] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    # (input partition, account id) -> memory: written to the state topic once per batch.
    remembered: dict[tuple[int, str], AccountMemory] = field(default_factory=dict)
    dead_letters: int = 0
    redelivered: int = 0  # changes at or before the account's last: not derived again

    def memory(self, partition: int, account: str) -> AccountMemory | None:
        found = self.remembered.get((partition, account))
        if found is None:
            found = self.committed.get(partition, {}).get(account)
        return found


def derive_batch(
    records: list[InputRecord],
    committed: Committed,
    thresholds: Thresholds,
    now_ms: Callable[[], int],
) -> Batch:
    batch = Batch(committed, records)
    for record in records:
        try:
            _derive(record, thresholds, now_ms(), batch)
        except ContractViolation as violation:
            batch.outputs.append(_dead_letter(record, str(violation), now_ms()))
            batch.dead_letters += 1
    return batch


def _derive(record: InputRecord, thresholds: Thresholds, now_ms: int, batch: Batch) -> None:
    change = parse_envelope(record.value)
    if change is None:
        return  # a tombstone after a delete; the delete itself was handled
    if change.table == "ledger_entry":
        account = _account_id(change.row.get("account_id"), "ledger entry")
        memory = batch.memory(record.partition, account)
        if memory is None and change.op == "c":
            raise ContractViolation(f"ledger entry for account {account}, which is unknown")
        updated = on_ledger_entry(change, memory or AccountMemory())
        if updated is not None:
            batch.remembered[(record.partition, account)] = updated
        return
    if change.table != "account":
        raise ContractViolation(f"unexpected table {change.table!r} in the money stream")
    account = _account_id(change.row.get("id"), "account row")
    memory = batch.memory(record.partition, account) or AccountMemory()
    outcome = on_account_change(change, memory, now_ms, thresholds)
    if outcome is None:
        batch.redelivered += 1
        if memory.position is not None and change.position.file < memory.position.file:
            # Not a redelivery by the connector: the binlog started again (a restore, a new
            # server), and the customer will not see this change. Said loudly.
            log.error(
                "account %s: change at %s is in an older binlog than the last one derived (%s) "
                "and is dropped; the binlog went backwards",
                account,
                change.position.event_id,
                memory.position.event_id,
            )
        return
    batch.outputs.extend(_outputs(outcome))
    batch.remembered[(record.partition, account)] = outcome.memory


def _account_id(raw: object, what: str) -> str:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise ContractViolation(f"{what} without a valid account id: {raw!r}")
    return str(raw)


def _outputs(outcome: Outcome) -> list[Output]:
    outputs = []
    if outcome.balance_changed is not None:
        key = outcome.balance_changed["iban"].encode()
        outputs.append(Output(BALANCE_CHANGED, key, outcome.balance_changed))
    if outcome.account_balance is not None:
        key = outcome.account_balance["iban"].encode()
        outputs.append(Output(ACCOUNT_BALANCE, key, outcome.account_balance))
    elif outcome.delete_iban is not None:
        outputs.append(Output(ACCOUNT_BALANCE, outcome.delete_iban.encode(), None))
    for alert in outcome.alerts:
        outputs.append(Output(ALERT, str(alert["customer_id"]).encode(), alert))
    return outputs


def _dead_letter(record: InputRecord, reason: str, now_ms: int) -> Output:
    log.warning(
        "dead letter from %s[%s]@%s: %s", record.topic, record.partition, record.offset, reason
    )
    kept = record.value
    if kept is not None and len(kept) > MAX_DEAD_LETTER_VALUE:
        # The dead letter must fit in a Kafka record; the input's position finds the rest.
        reason = f"{reason} (value cut from {len(kept)} bytes)"
        kept = kept[:MAX_DEAD_LETTER_VALUE]
    value = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key,
        "value": kept,
        "reason": reason,
        "failed_at": now_ms,
    }
    return Output(DEAD_LETTER, record.key or b"", value)
