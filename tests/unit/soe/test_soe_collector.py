"""The gateway's garbage collection (soe/collector.py, soe/memory.py): full walks are timed,
connected clients' objects are frozen out of them once arrivals settle, and the walk after
departures still frees what only it can free (reference cycles)."""

import asyncio
import gc
import weakref

import pytest

from soe import collector, memory, metrics
from soe.memory import MemoryRelease

pytestmark = pytest.mark.unit


class Client:
    """Stands for a connection's objects: a reference cycle, as a real connection has."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def _timed_walks() -> float:
    return sum(b.get() for b in metrics.GC_FULL_PAUSES._buckets)


def test_a_full_collection_is_timed_and_a_younger_one_is_not():
    collector.time_full_collections()
    collector.time_full_collections()  # once per process, however often asked
    assert gc.callbacks.count(collector._on_collection) == 1
    seconds, walks = metrics.GC_FULL_PAUSES._sum.get(), _timed_walks()
    gc.collect(0)
    assert _timed_walks() == walks
    gc.collect()
    assert _timed_walks() == walks + 1
    assert metrics.GC_FULL_PAUSES._sum.get() > seconds


def test_a_burst_of_arrivals_is_frozen_once_after_it_settles():
    async def scenario() -> None:
        freezer = collector.Freezer(freeze_after=0.05)
        clients = [Client() for _ in range(100)]
        for _ in clients:
            freezer.arrived()
        assert gc.get_freeze_count() == 0  # not while they arrive
        await asyncio.sleep(0.1)
        assert freezer.freezes == 1
        assert gc.get_freeze_count() >= len(clients)
        # A walk no longer looks at them: they are in none of the generations it walks.
        walked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
        assert not any(id(client) in walked for client in clients)
        freezer.arrived()
        await asyncio.sleep(0.1)
        assert freezer.freezes == 2  # the next burst is frozen too

    asyncio.run(scenario())


def test_garbage_is_collected_before_the_living_are_frozen():
    async def scenario() -> None:
        gc.disable()  # no automatic walk may free the cycle first
        try:
            dead = Client()
            gone = weakref.ref(dead)
            del dead
            freezer = collector.Freezer(freeze_after=0.01)
            freezer.arrived()
            await asyncio.sleep(0.05)
            assert freezer.freezes == 1
            assert gone() is None  # freed, not frozen for ever
        finally:
            gc.enable()

    asyncio.run(scenario())


async def frozen_departed_client() -> weakref.ref:
    """A client frozen with its burst of arrivals, then gone: a cycle only a full walk frees."""
    freezer = collector.Freezer(freeze_after=0.01)
    client = Client()
    gone = weakref.ref(client)
    freezer.arrived()
    await asyncio.sleep(0.05)
    del client
    return gone


def test_the_walk_after_departures_frees_cycles_of_frozen_clients(monkeypatch):
    async def scenario() -> None:
        gone = await frozen_departed_client()
        gc.collect()
        assert gone() is not None  # frozen: an ordinary walk leaves the cycle alone
        release = MemoryRelease(quiet_seconds=0.01)
        monkeypatch.setattr(release, "_trim", lambda pad: 1)
        for _ in range(memory.DEPARTURES_WORTH_A_TRIM):
            release.departed()
        await asyncio.sleep(0.05)
        assert release.trims == 1
        assert gone() is None
        assert gc.get_freeze_count() > 0  # what lives on is frozen again

    asyncio.run(scenario())


def test_departures_that_never_quieten_down_are_released_within_the_maximum_wait(monkeypatch):
    async def scenario() -> None:
        release = MemoryRelease(quiet_seconds=0.05, max_wait_seconds=0.2)
        monkeypatch.setattr(release, "_trim", lambda pad: 1)
        for _ in range(memory.DEPARTURES_WORTH_A_TRIM):
            release.departed()
        for _ in range(12):  # one departure every 30 ms: never 50 ms of quiet
            await asyncio.sleep(0.03)
            release.departed()
        assert release.trims == 1  # released at 200 ms, without waiting for quiet
        await asyncio.sleep(0.1)
        assert release.trims == 1  # the few departures since are not worth another walk

    asyncio.run(scenario())


def test_a_few_departures_among_many_clients_do_not_pause_everyone_for_a_full_walk(monkeypatch):
    async def scenario() -> None:
        gone = await frozen_departed_client()
        connected = 10_000
        release = MemoryRelease(lambda: connected, quiet_seconds=0.01)
        monkeypatch.setattr(release, "_trim", lambda pad: 1)
        for _ in range(memory.DEPARTURES_WORTH_A_TRIM):
            release.departed()
        await asyncio.sleep(0.05)
        assert release.trims == 1 and release.full_walks == 0  # 200 of 10,200: trimmed only
        assert gone() is not None  # its cycle waits
        connected = 3_000  # 7,200 more leave: now most of those there were
        for _ in range(7_200):
            release.departed()
        await asyncio.sleep(0.05)
        assert release.trims == 2 and release.full_walks == 1
        assert gone() is None

    asyncio.run(scenario())
