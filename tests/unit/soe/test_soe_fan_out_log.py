import asyncio
import time

import pytest

from soe.accounts import AccountBook
from soe.auth import Principal
from soe.connection import Connection
from soe.connections import Hub
from soe.fan_out_log import FanOut, FanOutLog
from soe.protocol import Subscribe
from soe.send_queue import SendQueue
from tests.support.soe_factories import balance_state, change

pytestmark = pytest.mark.unit
MINE = "DE44500105175407324931"
UNWATCHED = "NL91ABNA0417164300"


def test_a_fan_out_is_remembered_with_its_time_and_watchers():
    log = FanOutLog(capacity=3)
    log.record("sor:bin.000001:1:0", 2, at=1_700_000_000_123)
    assert log.get("sor:bin.000001:1:0") == FanOut(1_700_000_000_123, 2, at_start=False)


def test_without_a_time_the_clock_of_now_is_taken():
    log = FanOutLog()
    before = time.time_ns() // 1_000_000
    log.record("e1", 0)
    found = log.get("e1")
    assert found is not None
    assert before <= found.fanned_out_at <= time.time_ns() // 1_000_000


def test_only_the_most_recent_events_are_kept():
    log = FanOutLog(capacity=3)
    for n in range(5):
        log.record(f"e{n}", n, at=n)
    assert len(log) == 3
    assert log.get("e0") is None and log.get("e1") is None
    assert [log.get(f"e{n}") for n in (2, 3, 4)] == [FanOut(n, n, False) for n in (2, 3, 4)]


def test_an_event_fanned_out_again_counts_as_recent():
    log = FanOutLog(capacity=2)
    log.record("e1", 1, at=1)
    log.record("e2", 1, at=2)
    log.record("e1", 3, at=3)
    log.record("e3", 1, at=4)
    assert log.get("e2") is None
    assert log.get("e1") == FanOut(3, 3, False)


def test_a_lookup_leaves_unknown_ids_out():
    log = FanOutLog()
    log.record("e1", 1, at=10, at_start=True)
    assert log.lookup(["e1", "never-seen"]) == {"e1": FanOut(10, 1, at_start=True)}


def test_a_log_that_holds_nothing_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        FanOutLog(capacity=0)


def test_the_hub_records_each_change_with_the_connections_it_was_queued_to():
    async def scenario() -> None:
        book = AccountBook(history_per_account=5)
        for iban in (MINE, UNWATCHED):
            book.apply_balance(balance_state(iban, customer_id=7))
        hub = Hub(book, snapshot_history=3, fan_outs=FanOutLog(capacity=10))
        principal = Principal("anna", 7, "feed:own", int(time.time()) + 300, "jti-1")
        for port in (5000, 5001):
            connection = Connection(principal, SendQueue(10, 100_000), f"127.0.0.1:{port}")
            hub.register(connection)
            hub.subscribe(connection, Subscribe(type="subscribe", accounts=[MINE]))

        watched, unwatched = change(MINE, 1), change(UNWATCHED, 1)
        unwatched["event_id"] = "sor:bin.000001:99:0"
        hub.publish_change(watched)
        hub.publish_change(unwatched, at_start=True)

        found = hub.fan_outs.lookup([watched["event_id"], unwatched["event_id"]])
        assert found[watched["event_id"]].watchers == 2
        assert found[watched["event_id"]].at_start is False
        assert found[unwatched["event_id"]].watchers == 0
        assert found[unwatched["event_id"]].at_start is True

    asyncio.run(scenario())
