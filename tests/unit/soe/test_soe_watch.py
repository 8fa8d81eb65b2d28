"""The gateway's one watch over every connection (soe/watch.py) and the memory it gives back
when clients leave (soe/memory.py)."""

import asyncio
import json
import time

import pytest

from soe import memory
from soe.accounts import AccountBook
from soe.auth import Principal
from soe.connection import Connection
from soe.connections import Hub
from soe.memory import MemoryRelease
from soe.protocol import CloseCode
from soe.send_queue import SendQueue
from soe.watch import Watch

pytestmark = pytest.mark.unit


def connect(hub: Hub, expires_in: float = 300) -> Connection:
    principal = Principal("clerk", None, "feed:all", int(time.time() + expires_in), "jti")
    connection = Connection(principal, SendQueue(64, 100_000), "127.0.0.1:5000")
    hub.register(connection)
    return connection


def queued_types(connection: Connection) -> list[str]:
    types = []
    while (frame := connection.queue.take()) is not None:
        types.append(json.loads(frame.text)["type"])
    return types


def test_a_ping_comes_when_due_and_then_a_heartbeat_later():
    async def scenario() -> None:
        hub = Hub(AccountBook(5), snapshot_history=3)
        due, later = connect(hub), connect(hub)
        due.next_ping = time.monotonic() - 1
        later.next_ping = time.monotonic() + 60
        watch = Watch(hub, heartbeat_seconds=60, idle_timeout_seconds=180)
        await watch.look()
        assert queued_types(due) == ["ping"]
        assert queued_types(later) == []
        await watch.look()
        assert queued_types(due) == []  # the next one is a heartbeat away

    asyncio.run(scenario())


def test_a_silent_client_and_an_expired_token_are_closed():
    async def scenario() -> None:
        hub = Hub(AccountBook(5), snapshot_history=3)
        silent, expired, lively = connect(hub), connect(hub, expires_in=-1), connect(hub)
        silent.last_heard = time.monotonic() - 200
        await Watch(hub, heartbeat_seconds=60, idle_timeout_seconds=180).look()
        assert silent.closing.result()[0] == CloseCode.HEARTBEAT_TIMEOUT
        assert expired.closing.result()[0] == CloseCode.TOKEN_EXPIRED
        assert not lively.closing.done()

    asyncio.run(scenario())


def test_memory_is_given_back_once_many_clients_have_left_and_none_leave_any_more(monkeypatch):
    trims: list[int] = []

    async def scenario() -> None:
        release = MemoryRelease(quiet_seconds=0.05)
        monkeypatch.setattr(release, "_trim", lambda pad: trims.append(pad) or 1)
        for _ in range(memory.DEPARTURES_WORTH_A_TRIM - 1):
            release.departed()
        await asyncio.sleep(0.1)
        assert trims == []  # a few departures are not worth walking the heap
        release.departed()
        release.departed()
        assert trims == []  # not while they are still leaving
        await asyncio.sleep(0.1)
        assert trims == [0] and release.departures == 0

    asyncio.run(scenario())


def test_malloc_trim_is_found_on_glibc():
    # The machine the gateway runs on is glibc-based (the Dockerfile and the stack's Debian).
    assert memory._malloc_trim() is not None


def test_a_round_pings_its_connections_in_ten_small_waves_not_all_at_once(monkeypatch):
    from soe import watch

    monkeypatch.setattr(watch, "ROUND_SECONDS", 0.5)

    async def scenario() -> None:
        hub = Hub(AccountBook(5), snapshot_history=3)
        connections = [connect(hub) for _ in range(100)]
        task = asyncio.create_task(Watch(hub, heartbeat_seconds=60, idle_timeout_seconds=180).run())
        pinged: list[int] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            count = sum(1 for c in connections if len(c.queue))
            if not pinged or count != pinged[-1]:
                pinged.append(count)
            if count == len(connections):
                break
        task.cancel()
        assert pinged[-1] == 100  # every connection within the round
        waves = [n for n in pinged if n]
        assert waves[0] == 10  # the first tenth of a round: a tenth of them
        assert len(waves) >= 5  # in several waves, not one

    asyncio.run(scenario())
