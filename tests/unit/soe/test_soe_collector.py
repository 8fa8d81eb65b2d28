"""Connected clients' objects are frozen out of the collector's full walks (soe/collector.py),
and the walk after departures still frees what only it can free (cycles)."""

import asyncio
import gc
import weakref

import pytest

from soe import collector, metrics
from soe.memory import MemoryRelease

pytestmark = pytest.mark.unit


class Client:
    """Stands for a connection's objects: a reference cycle, as a real connection has."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def unfrozen():
    yield
    gc.unfreeze()


def test_a_burst_of_arrivals_is_frozen_once_after_it_settles():
    async def scenario() -> None:
        collector.time_full_collections()
        freezer = collector.Freezer(freeze_after=0.05)
        clients = [Client() for _ in range(100)]
        for _ in clients:
            freezer.arrived()
        assert gc.get_freeze_count() == 0
        await asyncio.sleep(0.1)
        assert freezer.freezes == 1
        assert gc.get_freeze_count() >= len(clients)
        # A full walk no longer looks at them.
        before = metrics.GC_FULL_PAUSES._sum.get()
        gc.collect()
        assert metrics.GC_FULL_PAUSES._sum.get() > before  # and it was timed

    asyncio.run(scenario())


def test_the_walk_after_departures_frees_cycles_of_frozen_clients(monkeypatch):
    async def scenario() -> None:
        freezer = collector.Freezer(freeze_after=0.01)
        client = Client()
        gone = weakref.ref(client)
        freezer.arrived()
        await asyncio.sleep(0.05)
        del client
        gc.collect()
        assert gone() is not None  # frozen: an ordinary walk leaves the cycle alone
        release = MemoryRelease(quiet_seconds=0.01)
        monkeypatch.setattr(release, "_trim", lambda pad: 1)
        for _ in range(300):
            release.departed()
        await asyncio.sleep(0.05)
        assert gone() is None
        assert gc.get_freeze_count() > 0  # what lives on is frozen again

    asyncio.run(scenario())
