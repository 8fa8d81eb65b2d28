"""The frame-once path (soe/wire.py): a frame built once, written straight to each socket that
takes writes while nothing is queued for it, queued otherwise; never out of order."""

import asyncio
import json
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.frames import Frame as WsFrame
from websockets.streams import StreamReader

from soe.accounts import AccountBook
from soe.auth import Principal
from soe.connection import Connection
from soe.connections import Hub
from soe.protocol import CloseCode, Subscribe
from soe.send_queue import Frame, SendQueue
from soe.wire import text_frame
from soe.write_batch import WriteBatch
from tests.support.soe_factories import balance_state, change

pytestmark = pytest.mark.unit
IBAN = "DE44500105175407324931"


class FakeWire:
    """A socket that records whole frames written to it and can be paused like a transport
    above its high-water mark; resuming it calls ``when_drained`` as the server's does."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.gone = False
        self.paused = False
        self.when_drained: Callable[[], None] | None = None

    def takes_writes(self) -> bool:
        return not self.paused and not self.gone

    def closed(self) -> bool:
        return self.gone

    def write(self, frame: bytes) -> None:
        assert not self.gone, "written to after it was gone"
        self.frames.append(frame)

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        """As the event loop does when the transport's buffer drains below its low-water mark."""
        if self.paused:
            self.paused = False
            if self.when_drained is not None:
                self.when_drained()

    def lose(self) -> None:
        self.gone = True

    def texts(self) -> list[str]:
        return [text for data in self.frames for text in parse_all(data)]


def parse(data: bytes) -> str:
    """The text a websocket client reads from one frame, by the websockets library's parser."""
    texts = parse_all(data)
    assert len(texts) == 1, "one write, one frame"
    return texts[0]


def parse_all(data: bytes) -> list[str]:
    """The texts of the whole frames one write holds (a write batch joins several)."""
    reader = StreamReader()
    reader.feed_data(data)
    texts = []
    while reader.buffer:
        parser = WsFrame.parse(reader.read_exact, mask=False)
        try:
            next(parser)
        except StopIteration as done:
            frame = done.value
        assert frame.fin and frame.opcode.name == "TEXT"
        texts.append(frame.data.decode())
    return texts


def staff() -> Principal:
    return Principal("clerk", None, "feed:all", int(time.time()) + 300, "jti")


def connected(
    socket: FakeWire | None, limit: int = 64, writes: WriteBatch | None = None
) -> Connection:
    return Connection(
        staff(), SendQueue(limit, 1_000_000), "127.0.0.1:5000", wire=socket, writes=writes
    )


def message(n: int) -> Frame:
    return Frame.of_text(json.dumps({"n": n}), "ping")


def numbers(socket: FakeWire) -> list[int]:
    return [json.loads(text)["n"] for text in socket.texts()]


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536, 200_000])
def test_a_frame_built_once_is_a_whole_unmasked_text_frame_at_every_length(size):
    text = "é" * (size // 2) + "x" * (size % 2)
    frame = Frame.of_text(text, "snapshot")
    assert frame.wire == text_frame(text.encode())
    assert parse(frame.wire) == text
    assert frame.text == text and frame.size == len(text.encode())


def test_a_frame_goes_straight_to_a_socket_that_takes_writes_and_nothing_is_queued():
    async def scenario() -> None:
        socket = FakeWire()
        connection = connected(socket)
        assert connection.offer(message(1)) and connection.offer(message(2))
        assert numbers(socket) == [1, 2]
        assert len(connection.queue) == 0

    asyncio.run(scenario())


def test_once_anything_is_queued_every_later_frame_queues_behind_it_until_the_socket_drains():
    async def scenario() -> None:
        socket = FakeWire()
        connection = connected(socket)
        connection.offer(message(1))  # written now
        socket.pause()
        connection.offer(message(2))  # the socket is full: queued
        connection.offer(message(3))  # behind 2
        assert numbers(socket) == [1]
        assert len(connection.queue) == 2
        socket.resume()  # drained: the queue is written out in the same call
        assert numbers(socket) == [1, 2, 3]
        connection.offer(message(4))  # nothing queued any more: straight out again
        assert numbers(socket) == [1, 2, 3, 4] and len(connection.queue) == 0

    asyncio.run(scenario())


def test_the_drain_stops_at_a_pause_mid_queue_and_nothing_overtakes_what_is_left():
    class PausingWire(FakeWire):
        def write(self, frame: bytes) -> None:
            super().write(frame)
            if len(self.frames) == 3:
                self.pause()  # as a transport does when a write crosses its high-water mark

    async def scenario() -> None:
        socket = PausingWire()
        connection = connected(socket)
        socket.pause()
        for n in range(1, 7):
            connection.offer(message(n))
        socket.resume()
        assert numbers(socket) == [1, 2, 3]  # paused again by the third write
        connection.offer(message(7))
        assert numbers(socket) == [1, 2, 3]
        socket.resume()
        assert numbers(socket) == [1, 2, 3, 4, 5, 6, 7]

    asyncio.run(scenario())


@pytest.mark.parametrize("seed", range(20))
def test_frames_arrive_once_and_in_order_however_pauses_and_writes_interleave(seed):
    chance = random.Random(seed)

    async def scenario() -> None:
        socket = FakeWire()
        connection = connected(socket, limit=10_000)
        offered = 0
        for _ in range(2000):
            step = chance.random()
            if step < 0.6:
                offered += 1
                assert connection.offer(message(offered))
            elif step < 0.8:
                socket.pause()
            else:
                socket.resume()
        socket.resume()
        assert numbers(socket) == list(range(1, offered + 1))

    asyncio.run(scenario())


def test_nothing_is_written_to_a_socket_that_is_gone():
    async def scenario() -> None:
        socket = FakeWire()
        connection = connected(socket)
        socket.pause()
        connection.offer(message(1))
        socket.lose()
        socket.resume()
        assert socket.frames == []

    asyncio.run(scenario())


def test_a_client_that_stops_reading_is_closed_while_the_others_get_every_change_directly():
    async def scenario() -> None:
        book = AccountBook(history_per_account=5)
        book.apply_balance(balance_state(IBAN, customer_id=7))
        hub = Hub(book, snapshot_history=3)
        sockets = [FakeWire() for _ in range(3)]
        connections = [connected(socket, limit=64) for socket in sockets]
        for connection in connections:
            hub.register(connection)
            hub.subscribe(connection, Subscribe(type="subscribe", accounts=[IBAN]))
        stuck = sockets[1]
        stuck.pause()  # its client stopped reading; its transport is full
        for sequence in range(1, 201):
            hub.publish_change(change(IBAN, sequence, customer_id=7))
        assert connections[1].closing.done()
        assert connections[1].closing.result()[0] == CloseCode.SLOW_CONSUMER
        assert len(connections[1].queue) == 0  # its memory went back at once
        for socket in (sockets[0], sockets[2]):
            seen = [json.loads(text) for text in socket.texts()]
            changed = [m["sequence"] for m in seen if m["type"] == "balance_changed"]
            assert changed == list(range(1, 201))
        assert all(len(c.queue) == 0 for c in (connections[0], connections[2]))

    asyncio.run(scenario())


def test_without_a_socket_every_frame_is_queued_for_the_writer():
    async def scenario() -> None:
        connection = connected(None)
        connection.offer(message(1))
        assert len(connection.queue) == 1

    asyncio.run(scenario())


def parsed(socket: FakeWire) -> list[dict[str, Any]]:
    return [json.loads(text) for text in socket.texts()]


def test_a_batch_of_changes_is_one_write_per_client_in_order_from_one_shared_buffer():
    async def scenario() -> None:
        book = AccountBook(history_per_account=5)
        book.apply_balance(balance_state(IBAN, customer_id=7))
        hub = Hub(book, snapshot_history=3)
        sockets = [FakeWire() for _ in range(3)]
        for socket in sockets:
            connection = connected(socket)
            hub.register(connection)
            hub.subscribe(connection, Subscribe(type="subscribe", accounts=[IBAN]))
        before = [len(socket.frames) for socket in sockets]  # the subscription's answers

        hub.writes.begin()
        for sequence in range(1, 4):
            hub.publish_change(change(IBAN, sequence, customer_id=7))
        assert [len(socket.frames) for socket in sockets] == before  # gathered, not written
        assert hub.writes.flush() == 3

        for socket, written in zip(sockets, before, strict=True):
            assert len(socket.frames) == written + 1, "one write for the three changes"
            changes = [m["sequence"] for m in parsed(socket)[-3:]]
            assert changes == [1, 2, 3]
        assert sockets[0].frames[-1] is sockets[1].frames[-1] is sockets[2].frames[-1]
        hub.publish_change(change(IBAN, 4, customer_id=7))  # no batch open: written at once
        assert all(parsed(socket)[-1]["sequence"] == 4 for socket in sockets)

    asyncio.run(scenario())


@pytest.mark.parametrize("seed", range(20))
def test_batched_frames_arrive_once_and_in_order_however_batches_pauses_and_writes_interleave(
    seed,
):
    """As the feed does: a batch is flushed before the event loop runs anything else, so a
    socket drains (``resume``, a callback of the event loop) only while no batch is open; a
    socket pauses inside a write."""
    chance = random.Random(seed)

    async def scenario() -> None:
        socket = FakeWire()
        writes = WriteBatch()
        connection = connected(socket, limit=10_000, writes=writes)
        offered = 0
        for _ in range(2000):
            step = chance.random()
            if step < 0.55:
                offered += 1
                assert connection.offer(message(offered))
            elif step < 0.65:
                socket.pause()
            elif step < 0.75:
                writes.begin()
            else:
                writes.flush()  # the feed gives the event loop away: the socket may drain
                if step < 0.9:
                    socket.resume()
        writes.flush()
        socket.resume()
        assert numbers(socket) == list(range(1, offered + 1))

    asyncio.run(scenario())


def test_a_batch_writes_nothing_to_a_socket_gone_before_its_flush():
    async def scenario() -> None:
        socket, writes = FakeWire(), WriteBatch()
        connection = connected(socket, writes=writes)
        writes.begin()
        connection.offer(message(1))
        socket.lose()
        assert writes.flush() == 1
        assert socket.frames == [] and connection.gathered is None

    asyncio.run(scenario())


def test_every_frame_written_is_counted_by_type_on_the_metrics_page():
    from prometheus_client import generate_latest

    def written(kind: str) -> float:
        for line in generate_latest().decode().splitlines():
            if line.startswith(f'soe_messages_out_total{{type="{kind}"}} '):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    async def scenario() -> None:
        socket, writes = FakeWire(), WriteBatch()
        connection = connected(socket, writes=writes)
        before = written("ping")
        connection.offer(message(1))  # straight out
        writes.begin()
        connection.offer(message(2))  # gathered
        writes.flush()
        socket.pause()
        connection.offer(message(3))  # queued, written when the socket drains
        assert written("ping") == before + 2
        socket.resume()
        assert written("ping") == before + 3

    asyncio.run(scenario())
