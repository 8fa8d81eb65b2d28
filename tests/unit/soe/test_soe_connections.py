import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from soe_factories import balance_state, change, changes

from soe.accounts import AccountBook
from soe.auth import Principal
from soe.connections import Connection, Hub, SendQueue
from soe.protocol import CloseCode, Subscribe

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
    messages = []
    while len(connection.queue):
        payload, _kind = connection.queue._items.popleft()[:2]
        messages.append(json.loads(payload))
    connection.queue._live = 0
    return messages


def make_hub(limit: int = 10) -> tuple[AccountBook, Hub]:
    book = AccountBook(history_per_account=5)
    book.apply_balance(balance_state(MINE, customer_id=7, balance=10_000))
    book.apply_balance(balance_state(ALSO_MINE, customer_id=7, balance=0))
    book.apply_balance(balance_state(THEIRS, customer_id=8))
    return book, Hub(book, snapshot_history=3)


def connect(hub: Hub, principal: Principal, limit: int = 10) -> Connection:
    connection = Connection(principal, limit, "127.0.0.1:5000")
    hub.register(connection)
    return connection


def subscribe(hub: Hub, connection: Connection, **fields: Any) -> list[dict[str, Any]]:
    hub.subscribe(connection, Subscribe(type="subscribe", **fields))
    return sent(connection)


def test_the_send_queue_bounds_live_messages_but_not_replies():
    async def scenario() -> None:
        queue = SendQueue(live_limit=2)
        assert queue.offer("a", "balance_changed")
        assert queue.offer("b", "balance_changed")
        assert not queue.offer("c", "balance_changed")
        queue.put("snapshot", "snapshot")
        assert len(queue) == 3
        assert await queue.get() == ("a", "balance_changed")
        assert queue.offer("d", "balance_changed")
        assert [await queue.get() for _ in range(3)] == [
            ("b", "balance_changed"),
            ("snapshot", "snapshot"),
            ("d", "balance_changed"),
        ]

    run(scenario)


def test_the_send_queue_wakes_a_waiting_writer():
    async def scenario() -> None:
        queue = SendQueue(live_limit=2)
        waiting = asyncio.create_task(queue.get())
        await asyncio.sleep(0)
        queue.offer("x", "ping")
        assert await asyncio.wait_for(waiting, 1) == ("x", "ping")

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


def test_someone_elses_account_is_refused_by_name():
    async def scenario() -> None:
        _, hub = make_hub()
        connection = connect(hub, customer())
        messages = subscribe(hub, connection, accounts=[THEIRS, MINE])
        error = messages[0]
        assert (error["type"], error["code"], error["iban"]) == (
            "error",
            "account_forbidden",
            THEIRS,
        )
        assert THEIRS in error["message"]
        assert messages[1]["iban"] == MINE
        hub.publish_change(change(THEIRS, 1, customer_id=8))
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
        [refused, resumed] = sent(connection)
        assert (refused["code"], refused["iban"]) == ("account_forbidden", foreign)
        assert (resumed["type"], resumed["sequence"], resumed["replayed"]) == (
            "balance_changed",
            1,
            True,
        )
        assert hub._pending == {}

    run(scenario)


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
        assert len(hub) == 1
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
        hub.publish_alert({"alert_id": "a", "kind": "low_balance", "customer_id": 7, "iban": MINE})
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
