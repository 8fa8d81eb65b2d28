import asyncio
import json
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from soe import metrics
from soe.accounts import AccountBook
from soe.auth import Principal
from soe.connection import Connection
from soe.connections import Hub
from soe.protocol import CloseCode, Find, Subscribe
from soe.send_queue import Frame, SendQueue
from tests.support.soe_factories import balance_state, change, changes

pytestmark = pytest.mark.unit
MINE = "DE44500105175407324931"
ALSO_MINE = "DE89370400440532013000"
THEIRS = "NL91ABNA0417164300"


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def customer(customer_id: int = 7) -> Principal:
    return Principal("anna", customer_id, "feed:own", int(time.time()) + 300, "jti-1")


def staff() -> Principal:
    return Principal("clerk", None, "feed:all", int(time.time()) + 300, "jti-2")


def sent(connection: Connection) -> list[dict[str, Any]]:
    """What the client reads: everything queued for it, which leaves the queue empty."""
    messages = []
    while (frame := connection.queue.take()) is not None:
        messages.append(json.loads(frame.text))
    return messages


def make_hub() -> tuple[AccountBook, Hub]:
    book = AccountBook(history_per_account=5)
    book.apply_balance(balance_state(MINE, customer_id=7, balance=10_000))
    book.apply_balance(balance_state(ALSO_MINE, customer_id=7, balance=0))
    book.apply_balance(balance_state(THEIRS, customer_id=8))
    return book, Hub(book, snapshot_history=3)


def connect(
    hub: Hub, principal: Principal, limit: int = 10, max_bytes: int = 1_000_000
) -> Connection:
    connection = Connection(principal, SendQueue(limit, max_bytes), "127.0.0.1:5000")
    hub.register(connection)
    return connection


def subscribe(hub: Hub, connection: Connection, **fields: Any) -> list[dict[str, Any]]:
    hub.subscribe(connection, Subscribe(type="subscribe", **fields))
    return sent(connection)


def frame(text: str) -> Frame:
    return Frame.of_text(text, "ping")


def test_the_send_queue_is_bounded_in_messages():
    async def scenario() -> None:
        queue = SendQueue(max_messages=2, max_bytes=1000)
        assert queue.offer(frame("a"))
        assert queue.offer(frame("b"))
        assert not queue.offer(frame("c"))
        assert (await queue.get()).text == "a"
        assert queue.offer(frame("d"))
        assert [(await queue.get()).text for _ in range(2)] == ["b", "d"]

    run(scenario)


def test_the_send_queue_is_bounded_in_bytes_counted_in_utf8():
    async def scenario() -> None:
        queue = SendQueue(max_messages=100, max_bytes=10)
        assert queue.offer(frame("€€€"))  # 9 bytes
        assert not queue.offer(frame("ab"))
        assert queue.offer(frame("a"))
        assert queue.bytes == 10
        await queue.get()
        assert queue.bytes == 1

    run(scenario)


def test_the_send_queue_wakes_a_waiting_writer():
    async def scenario() -> None:
        queue = SendQueue(max_messages=2, max_bytes=100)
        waiting = asyncio.create_task(queue.get())
        await asyncio.sleep(0)
        queue.offer(frame("x"))
        assert (await asyncio.wait_for(waiting, 1)).text == "x"

    run(scenario)


def test_replies_count_toward_the_bound_and_a_client_that_never_reads_is_closed():
    async def scenario() -> None:
        _, hub = make_hub()
        connection = connect(hub, customer(), limit=64, max_bytes=8_000)
        request = Subscribe(type="subscribe", accounts=[MINE])
        for _ in range(1000):  # a flood of subscribes, never read
            hub.subscribe(connection, request)
            if connection.closing.done():
                break
        assert connection.closing.result()[0] == CloseCode.SLOW_CONSUMER
        assert len(connection.queue) == 0, "the queue is freed when the client is closed"
        peak = metrics.SEND_QUEUE_PEAK_BYTES._value.get()
        assert 0 < peak <= 1_000_000  # at most the largest bound any test connection had

    run(scenario)


def test_a_resume_that_would_not_fit_in_the_queue_gets_a_fresh_snapshot():
    async def scenario() -> None:
        book, hub = make_hub()
        for event in changes(MINE, 1, 5):
            book.apply_change(event)
        connection = connect(hub, customer(), limit=4)
        [shot, done] = subscribe(hub, connection, accounts=[MINE], resume={MINE: 0})
        assert (shot["type"], shot["fresh"], shot["sequence"]) == ("snapshot", True, 5)
        assert done["accounts"][0]["mode"] == "fresh_snapshot"
        assert not connection.closing.done()

    run(scenario)


def test_a_customer_gets_a_snapshot_of_each_own_account():
    async def scenario() -> None:
        _, hub = make_hub()
        connection = connect(hub, customer())
        messages = subscribe(hub, connection)
        assert [(m["type"], m.get("iban")) for m in messages] == [
            ("snapshot", MINE),
            ("snapshot", ALSO_MINE),
            ("subscribed", None),
        ]
        assert messages[-1]["accounts"][0] == {"iban": MINE, "mode": "snapshot", "sequence": 0}

    run(scenario)


def test_someone_elses_account_is_answered_as_an_unknown_one_and_never_shown():
    async def scenario() -> None:
        _, hub = make_hub()
        connection = connect(hub, customer())
        unknown = "DE02120300000000202051"
        [foreign_answer] = subscribe(hub, connection, accounts=[THEIRS])
        [unknown_answer] = subscribe(hub, connection, accounts=[unknown])
        assert foreign_answer["accounts"] == [{"iban": THEIRS, "mode": "pending", "sequence": None}]
        assert unknown_answer["accounts"] == [
            {"iban": unknown, "mode": "pending", "sequence": None}
        ]
        hub.publish_change(change(THEIRS, 1, customer_id=8))
        hub.publish_state(
            hub.book.apply_balance(balance_state(THEIRS, customer_id=8, status="frozen"))
        )
        assert sent(connection) == []

    run(scenario)


def test_an_account_not_yet_known_is_decided_when_it_appears():
    async def scenario() -> None:
        book, hub = make_hub()
        connection = connect(hub, customer())
        new, foreign = "DE02120300000000202051", "DE02500105170137075030"
        [done] = subscribe(hub, connection, accounts=[new, foreign], resume={new: 0})
        assert [a["mode"] for a in done["accounts"]] == ["pending", "pending"]
        hub.publish_state(book.apply_balance(balance_state(foreign, customer_id=8)))
        event = change(new, 1)
        book.apply_change(event)
        hub.publish_change(event)
        [resumed] = sent(connection)
        assert (resumed["type"], resumed["sequence"], resumed["replayed"]) == (
            "balance_changed",
            1,
            True,
        )
        assert set(connection.pending) == {foreign}, "another's account stays pending, silent"
        hub.publish_state(book.apply_balance(balance_state(foreign, customer_id=7)))
        [shot] = sent(connection)
        assert (shot["type"], shot["iban"]) == ("snapshot", foreign)
        assert hub._pending == {}

    run(scenario)


def test_asking_for_accounts_that_are_not_yours_counts_toward_the_close(caplog):
    async def scenario() -> None:
        _, hub = make_hub()
        connection = connect(hub, customer(), limit=1000)
        for _ in range(20):
            hub.subscribe(connection, Subscribe(type="subscribe", accounts=[THEIRS, MINE]))
            if connection.closing.done():
                break
        assert connection.errors == 10
        assert connection.closing.result()[0] == CloseCode.POLICY_VIOLATION

    caplog.set_level(logging.WARNING, logger="soe.connections")
    run(scenario)
    refusals = [r for r in caplog.records if "not theirs" in r.getMessage()]
    assert 1 <= len(refusals) <= 10


def test_refusal_log_lines_are_limited_however_many_clients_ask(caplog):
    async def scenario() -> None:
        _, hub = make_hub()
        for _ in range(50):
            connection = connect(hub, customer())
            hub.subscribe(connection, Subscribe(type="subscribe", accounts=[THEIRS]))

    caplog.set_level(logging.WARNING, logger="soe.connections")
    run(scenario)
    refusals = [r for r in caplog.records if "not theirs" in r.getMessage()]
    assert len(refusals) <= 11


def test_pending_accounts_are_bounded_per_connection():
    async def scenario() -> None:
        _, hub = make_hub()
        connection = connect(hub, customer())
        ibans = [f"DE02{n:018d}" for n in range(101)]
        subscribe(hub, connection, accounts=ibans[:100])
        [error, done] = subscribe(hub, connection, accounts=ibans[100:])
        assert error["code"] == "too_many_pending"
        assert done["accounts"][0]["mode"] == "refused"

    run(scenario)


def test_only_staff_may_watch_all_accounts():
    async def scenario() -> None:
        _, hub = make_hub()
        assert subscribe(hub, connect(hub, customer()), all=True)[0]["code"] == "forbidden"
        messages = subscribe(hub, connect(hub, staff()), all=True)
        assert sorted(m["iban"] for m in messages if m["type"] == "snapshot") == sorted(
            [MINE, ALSO_MINE, THEIRS]
        )

    run(scenario)


def test_changes_reach_only_the_watchers_in_order_and_once():
    async def scenario() -> None:
        book, hub = make_hub()
        mine = connect(hub, customer())
        other = connect(hub, customer(8))
        subscribe(hub, mine, accounts=[MINE])
        subscribe(hub, other)
        for event in changes(MINE, 1, 3):
            book.apply_change(event)
            hub.publish_change(event)
        hub.publish_change(change(MINE, 2))
        assert [m["sequence"] for m in sent(mine)] == [1, 2, 3]
        assert sent(other) == []

    run(scenario)


def test_resume_sends_exactly_the_missed_changes():
    async def scenario() -> None:
        book, hub = make_hub()
        for event in changes(MINE, 1, 4):
            book.apply_change(event)
        connection = connect(hub, customer())
        messages = subscribe(hub, connection, accounts=[MINE], resume={MINE: 2})
        assert [(m["type"], m.get("sequence")) for m in messages[:-1]] == [
            ("balance_changed", 3),
            ("balance_changed", 4),
        ]
        assert all(m["replayed"] for m in messages[:-1])
        assert messages[-1]["accounts"] == [{"iban": MINE, "mode": "resumed", "sequence": 4}]
        event = change(MINE, 5)
        book.apply_change(event)
        hub.publish_change(event)
        assert [m["sequence"] for m in sent(connection)] == [5]

    run(scenario)


def test_resume_beyond_the_history_gets_a_fresh_snapshot():
    async def scenario() -> None:
        book, hub = make_hub()
        for event in changes(MINE, 1, 9):
            book.apply_change(event)
        connection = connect(hub, customer())
        [shot, done] = subscribe(hub, connection, accounts=[MINE], resume={MINE: 1})
        assert (shot["type"], shot["fresh"], shot["sequence"]) == ("snapshot", True, 9)
        assert done["accounts"][0]["mode"] == "fresh_snapshot"

    run(scenario)


def test_a_change_already_in_the_snapshot_is_not_sent_again():
    async def scenario() -> None:
        book, hub = make_hub()
        book.apply_balance(balance_state(MINE, balance=10_100, sequence=1))
        connection = connect(hub, customer())
        subscribe(hub, connection, accounts=[MINE])
        late = change(MINE, 1)
        book.apply_change(late)
        hub.publish_change(late)
        assert sent(connection) == []

    run(scenario)


def test_a_client_that_stops_reading_is_closed_and_others_keep_receiving():
    async def scenario() -> None:
        book, hub = make_hub()
        slow = connect(hub, customer(), limit=3)
        quick = connect(hub, customer(), limit=3)
        subscribe(hub, slow, accounts=[MINE])
        subscribe(hub, quick, accounts=[MINE])
        for event in changes(MINE, 1, 5):
            book.apply_change(event)
            hub.publish_change(event)
            sent(quick)
        assert slow.closing.done()
        assert slow.closing.result()[0] == CloseCode.SLOW_CONSUMER
        event = change(MINE, 6)
        book.apply_change(event)
        hub.publish_change(event)
        assert [m["sequence"] for m in sent(quick)] == [6]

    run(scenario)


def test_a_new_account_of_the_customer_appears_to_a_follower_of_own_accounts():
    async def scenario() -> None:
        book, hub = make_hub()
        connection = connect(hub, customer())
        subscribe(hub, connection)
        new = "DE02120300000000202051"
        hub.publish_state(book.apply_balance(balance_state(new, customer_id=7)))
        hub.publish_state(
            book.apply_balance(balance_state("DE02500105170137075030", customer_id=8))
        )
        assert [(m["type"], m["iban"]) for m in sent(connection)] == [("snapshot", new)]

    run(scenario)


def test_watchers_hear_of_a_status_change_and_a_deletion():
    async def scenario() -> None:
        book, hub = make_hub()
        connection = connect(hub, customer())
        subscribe(hub, connection, accounts=[MINE])
        hub.publish_state(book.apply_balance(balance_state(MINE, status="frozen")))
        hub.publish_removed(book.remove(MINE))
        assert [(m["type"], m.get("status")) for m in sent(connection)] == [
            ("account", "frozen"),
            ("account_removed", None),
        ]
        assert connection.watching == set()

    run(scenario)


def test_alerts_reach_the_owner_watching_the_account():
    async def scenario() -> None:
        _, hub = make_hub()
        mine = connect(hub, customer())
        other = connect(hub, customer(8))
        subscribe(hub, mine)
        subscribe(hub, other)
        hub.publish_alert(
            {
                "alert_id": "sor:bin.000001:1:0:low_balance",
                "kind": "low_balance",
                "customer_id": 7,
                "iban": MINE,
                "currency": "EUR",
                "balance": 900,
                "amount": -100,
                "threshold": 1000,
                "message": "Your balance is low",
                "raised_at": 1,
            }
        )
        assert [m["type"] for m in sent(mine)] == ["alert"]
        assert sent(other) == []

    run(scenario)


def test_unregistering_forgets_every_subscription():
    async def scenario() -> None:
        book, hub = make_hub()
        connection = connect(hub, customer())
        subscribe(hub, connection)
        hub.unregister(connection)
        event = change(MINE, 1)
        book.apply_change(event)
        hub.publish_change(event)
        hub.publish_state(book.apply_balance(balance_state("DE02120300000000202051")))
        assert sent(connection) == []
        assert hub._by_iban == {}
        assert hub._following_customer == {}

    run(scenario)


def test_an_account_that_changes_owner_leaves_the_old_owners_screen():
    async def scenario() -> None:
        book, hub = make_hub()
        connection = connect(hub, customer())
        subscribe(hub, connection, accounts=[MINE])
        hub.publish_state(book.apply_balance(balance_state(MINE, customer_id=8, status="frozen")))
        [removed] = sent(connection)
        assert (removed["type"], removed["iban"]) == ("account_removed", MINE)
        assert connection.watching == set()

    run(scenario)


def find(hub: Hub, connection: Connection, **fields: Any) -> list[dict[str, Any]]:
    hub.find(connection, Find(type="find", **fields))
    return sent(connection)


def test_staff_page_through_every_account_sorted_by_iban():
    async def scenario() -> None:
        _, hub = make_hub()
        clerk = connect(hub, staff())
        [first] = find(hub, clerk, page_size=2)
        assert first["type"] == "found"
        assert (first["total"], first["page"], first["accounts"]) == (3, 1, [MINE, ALSO_MINE])
        [second] = find(hub, clerk, page=2, page_size=2)
        assert second["accounts"] == [THEIRS]
        [beyond] = find(hub, clerk, page=3, page_size=2)
        assert (beyond["total"], beyond["accounts"]) == (3, [])
        assert clerk.watching == set()  # finding subscribes to nothing

    run(scenario)


def test_staff_find_an_account_by_part_of_its_iban_or_by_its_customer():
    async def scenario() -> None:
        book, hub = make_hub()
        book.apply_balance(balance_state("DE02120300000000202051", customer_id=402))
        clerk = connect(hub, staff())
        [by_iban] = find(hub, clerk, query="nl91 abna")
        assert by_iban["accounts"] == [THEIRS]
        # Customer 8's account first, then the other IBANs that hold an 8.
        [by_customer] = find(hub, clerk, query="8")
        assert by_customer["accounts"] == [THEIRS, ALSO_MINE]
        [nothing] = find(hub, clerk, query="XX99")
        assert (nothing["total"], nothing["accounts"]) == (0, [])

    run(scenario)


def test_a_customer_may_not_search_the_accounts():
    async def scenario() -> None:
        _, hub = make_hub()
        anna = connect(hub, customer())
        [answer] = find(hub, anna)
        assert (answer["type"], answer["code"]) == ("error", "forbidden")
        assert anna.errors == 1


def test_a_change_is_encoded_once_and_the_same_frame_queued_to_every_watcher():
    async def scenario() -> None:
        book, hub = make_hub()
        watchers = [connect(hub, staff()) for _ in range(3)]
        for watcher in watchers:
            subscribe(hub, watcher, accounts=[MINE])
        event = change(MINE, sequence=book.get(MINE).sequence + 1, customer_id=7)
        assert book.apply_change(event)
        hub.publish_change(event)
        frames = [watcher.queue.take() for watcher in watchers]
        assert frames[0] is not None and all(f is frames[0] for f in frames)
        message = json.loads(frames[0].text)
        assert message["type"] == "balance_changed" and isinstance(message["sent_at"], int)

    run(scenario)


def test_a_resume_from_further_than_this_gateway_has_read_waits_for_the_next_changes():
    """Two gateways behind a balancer: the client's first gateway had sent sequence 3 when it
    died; the second has read up to 2. The client must get 4 and on, each once, and never an
    older snapshot that would make it show 3 again."""

    async def scenario() -> None:
        book, hub = make_hub()
        for event in changes(MINE, 1, 2):
            book.apply_change(event)
        connection = connect(hub, customer())
        [done] = subscribe(hub, connection, accounts=[MINE], resume={MINE: 3})
        assert done["accounts"] == [{"iban": MINE, "mode": "resumed", "sequence": 3}]
        for event in changes(MINE, 3, 5):
            book.apply_change(event)
            hub.publish_change(event)
        hub.settle_ahead(connection, time.monotonic() + 60)
        assert [(m["type"], m["sequence"]) for m in sent(connection)] == [
            ("balance_changed", 4),
            ("balance_changed", 5),
        ]
        assert connection.ahead is None

    run(scenario)


def test_a_resume_from_a_sequence_never_read_gets_a_fresh_snapshot_after_the_wait():
    async def scenario() -> None:
        book, hub = make_hub()
        for event in changes(MINE, 1, 2):
            book.apply_change(event)
        connection = connect(hub, customer())
        subscribe(hub, connection, accounts=[MINE], resume={MINE: 9})
        hub.settle_ahead(connection, time.monotonic())
        assert sent(connection) == [], "held until the wait is over"
        hub.settle_ahead(connection, time.monotonic() + 60)
        [shot] = sent(connection)
        assert (shot["type"], shot["fresh"], shot["sequence"]) == ("snapshot", True, 2)
        event = change(MINE, 3)
        book.apply_change(event)
        hub.publish_change(event)
        assert [m["sequence"] for m in sent(connection)] == [3]

    run(scenario)


def test_the_hub_tells_of_every_arrival_and_departure():
    async def scenario() -> None:
        _, hub = make_hub()
        arrivals: list[int] = []
        departures: list[int] = []
        hub.on_arrival = lambda: arrivals.append(len(hub))
        hub.on_departure = lambda: departures.append(len(hub))
        first = connect(hub, customer())
        connect(hub, staff())
        hub.unregister(first)
        assert arrivals == [1, 2]  # after each is registered: its objects are there to freeze
        assert departures == [1]

    run(scenario)
