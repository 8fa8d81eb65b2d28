"""Replacing a Kafka consumer whose broker died: only the feed's own cancellation may end it."""

from __future__ import annotations

import asyncio

import pytest

from soe.feed import _stop

pytestmark = pytest.mark.unit


class ConsumerWhoseFetchWasCancelled:
    """What aiokafka's consumer does after a broker died: stop() re-raises the CancelledError of
    a fetch its own fetcher cancelled."""

    async def stop(self) -> None:
        await asyncio.sleep(0)
        raise asyncio.CancelledError


class ConsumerThatHangs:
    def __init__(self) -> None:
        self.stopping = asyncio.Event()

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.Event().wait()


def test_a_cancellation_raised_by_the_client_itself_does_not_end_the_feed():
    async def scenario() -> str:
        await _stop(ConsumerWhoseFetchWasCancelled())
        return "carried on"

    assert asyncio.run(scenario()) == "carried on"


def test_a_client_that_fails_to_stop_is_left_behind():
    class Broken:
        async def stop(self) -> None:
            raise ConnectionResetError("broker gone")

    async def scenario() -> str:
        await _stop(Broken())
        return "carried on"

    assert asyncio.run(scenario()) == "carried on"


def test_cancelling_the_feed_while_it_stops_a_consumer_still_ends_it():
    async def scenario() -> None:
        consumer = ConsumerThatHangs()
        stopping = asyncio.create_task(_stop(consumer))
        await consumer.stopping.wait()
        stopping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopping

    asyncio.run(scenario())
