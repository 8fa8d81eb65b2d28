"""The Faust application: `faust -A soi.app worker` runs it."""

from __future__ import annotations

import asyncio
import logging
import time

import faust
from aiokafka.errors import KafkaError
from faust.types import TP

from events import codec, topics
from soi.accounts import AccountMemory, Outcome, on_account_change, on_ledger_entry
from soi.alerts import Thresholds
from soi.cdc import ContractViolation, parse_envelope
from soi.config import APP_ID, KAFKA_BOOTSTRAP, TOPIC_PARTITIONS, TOPICS
from soi.gaps import GapReader, InputRecord, Skipped, skipped_before
from soi.topics import ensure_topics
from stack.settings import settings

log = logging.getLogger(__name__)

app = faust.App(
    APP_ID,
    broker=f"kafka://{KAFKA_BOOTSTRAP}",
    store="memory://",  # tables are rebuilt from their changelog topics on start
    datadir=str(settings().path("data", "soi")),
    topic_partitions=TOPIC_PARTITIONS,
    consumer_auto_offset_reset="earliest",
    producer_linger_ms=0,
    producer_acks=-1,
    stream_wait_empty=False,
    # A worker killed hard is noticed in seconds, not the default minute, and its partitions move.
    broker_session_timeout=10.0,
    broker_heartbeat_interval=2.0,
)

# Changelogs are compacted, but compaction never touches the active segment: Kafka's default
# (a week or 1 GiB) would keep every write, and each recovery would replay them all.
CHANGELOG = {"segment.ms": str(10 * 60 * 1000)}

money_changes = app.topic(topics.CDC_MONEY, key_serializer="raw", value_serializer="raw")
balance_changed = app.topic(TOPICS.balance_changed, key_serializer="raw", value_serializer="raw")
balances = app.topic(TOPICS.balances, key_serializer="raw", value_serializer="raw")
alerts = app.topic(TOPICS.alerts, key_serializer="raw", value_serializer="raw")
dead_letters = app.topic(TOPICS.dead_letters, key_serializer="raw", value_serializer="raw")

# Per account: last position seen, sequence, balance and ledger entries awaiting their update.
# Changelog-backed, so a restarted or rebalanced worker resumes exactly where the previous owner
# of the partition stopped.
# No value_type: JSON dicts as they are. With value_type=dict Faust cannot rebuild the table
# from its changelog (it calls value_type.from_data on recovery).
account_memory = app.Table(
    "account-memory", partitions=TOPIC_PARTITIONS, key_type=str, extra_topic_configs=CHANGELOG
)
# Per input partition: the next offset the agent expects (see soi.gaps).
input_progress = app.Table(
    "input-progress", partitions=TOPIC_PARTITIONS, key_type=str, extra_topic_configs=CHANGELOG
)
gap_reader = GapReader(KAFKA_BOOTSTRAP, topics.CDC_MONEY)
thresholds = Thresholds.from_environment()
RETRY = 5.0  # seconds between attempts to read skipped records


@app.on_worker_init.connect
def _create_topics(app: faust.App, **_kwargs: object) -> None:
    ensure_topics()


def _now_ms() -> int:
    return int(time.time() * 1000)


async def send_to_dead_letters(message: InputRecord, reason: str) -> None:
    log.warning(
        "dead letter from %s[%s]@%s: %s", message.topic, message.partition, message.offset, reason
    )
    record = codec.encode(
        "dead_letter",
        {
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "key": message.key,
            "value": message.value,
            "reason": reason,
            "failed_at": _now_ms(),
        },
    )
    await dead_letters.send(key=message.key, value=record)


async def publish(outcome: Outcome) -> None:
    """Send the outcome's records and wait until Kafka has them all.

    The account's memory is written only after this returns, so a crash in between replays the
    record (same event id and sequence: a repeat consumers drop) and never skips it.
    """
    deliveries = []
    if outcome.balance_changed is not None:
        deliveries.append(
            await balance_changed.send(
                key=outcome.balance_changed["iban"].encode(),
                value=codec.encode("balance_changed", outcome.balance_changed),
            )
        )
    if outcome.account_balance is not None:
        state = codec.encode("account_balance", outcome.account_balance)
        deliveries.append(
            await balances.send(key=outcome.account_balance["iban"].encode(), value=state)
        )
    elif outcome.delete_iban is not None:
        deliveries.append(await balances.send(key=outcome.delete_iban.encode(), value=None))
    for alert in outcome.alerts:
        deliveries.append(
            await alerts.send(
                key=str(alert["customer_id"]).encode(), value=codec.encode("alert", alert)
            )
        )
    await asyncio.gather(*deliveries)


@app.agent(money_changes, concurrency=1)
async def derive_balances(stream: faust.StreamT) -> None:
    """Account rows and ledger entries -> bank.balance-changed, bank.balances, bank.alerts."""
    async for event in stream.events():
        message = event.message
        progress_key = str(message.partition)
        expected = input_progress.get(progress_key)
        gap = skipped_before(expected, message)
        if gap is not None:
            await derive_skipped(gap)
        await derive(message)
        input_progress[progress_key] = max(expected or 0, message.offset + 1)


async def derive_skipped(gap: Skipped) -> None:
    """Reads and derives the skipped records, retrying while Kafka does not answer: the worker
    holds back the partition's next changes rather than publish them past a hole."""
    log.error(
        "Faust skipped %d records of %s[%d] (offsets %d to %d); reading them directly",
        len(gap),
        topics.CDC_MONEY,
        gap.partition,
        gap.first,
        gap.end - 1,
    )
    while True:
        try:
            read = await gap_reader.read(gap)
            break
        except (KafkaError, TimeoutError) as error:
            log.warning("reading the skipped records failed (%r); again in %s s", error, RETRY)
            await asyncio.sleep(RETRY)
    if read.missing:
        log.error(
            "offsets %s of %s[%d] are no longer in the topic (retention): their changes cannot "
            "be derived; `bankctl reconcile` lists the accounts",
            read.missing[:20],
            topics.CDC_MONEY,
            gap.partition,
        )
    for record in read.records:
        await derive(record)
    # Faust never delivered these offsets, so it never acknowledges them, and its commits for
    # the partition would stop below them (a growing lag, and a longer replay at each restart).
    # Its own name for offsets that will not be delivered is a gap: they count as acknowledged.
    await app.consumer._add_gap(TP(topics.CDC_MONEY, gap.partition), gap.first, gap.end - 1)


async def derive(message: InputRecord) -> None:
    """One CDC record: derived and published, or, when it cannot be derived, sent to the dead
    letters. Raises only when publishing fails; the agent then restarts, and the record, not
    counted as seen, is read again as a skipped one at the partition's next record."""
    try:
        change = parse_envelope(message.value)
        if change is None:
            return  # a tombstone after a delete; the delete itself was handled
        if change.table == "ledger_entry":
            key = str(change.row.get("account_id"))
            memory = on_ledger_entry(change, AccountMemory.from_json(account_memory.get(key)))
            if memory is not None:
                account_memory[key] = memory.to_json()
            return
        if change.table != "account":
            raise ContractViolation(f"unexpected table {change.table!r} in the money stream")
        key = str(change.row.get("id"))
        memory = AccountMemory.from_json(account_memory.get(key))
        outcome = on_account_change(change, memory, _now_ms(), thresholds)
    except ContractViolation as violation:
        await send_to_dead_letters(message, str(violation))
        return
    except Exception as error:  # a bug must not stop every other account's events
        log.exception("deriving from %s@%s failed", message.topic, message.offset)
        await send_to_dead_letters(message, f"unexpected {type(error).__name__}: {error}")
        return
    if outcome is None:
        return
    await publish(outcome)
    account_memory[key] = outcome.memory.to_json()


@app.page("/ready/")
async def ready(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
    """Ready once the worker has partitions assigned and is not rebalancing."""
    assigned = bool(app.consumer and app.consumer.assignment())
    if app.rebalancing or not assigned:
        return web.json({"ready": False}, status=503)
    return web.json({"ready": True})
