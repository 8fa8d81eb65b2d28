"""The design we replaced, for comparison only: one Kafka consumer per websocket.

As the original proof of concept did, every connection opens its own aiokafka consumer on
`bank.balance-changed`, reads every account's events and drops those its viewer does not watch.
No authentication, no resume: it exists so the benchmark can put a number on the cost.
Run by the benchmark as ``uvicorn bench.per_connection_gateway:app``; never part of the product.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from events import codec
from kernel.kafka_client import from_environment
from soi.config import TOPICS

app = FastAPI(title="consumer-per-connection gateway (benchmark only)")
open_consumers = 0


@app.get("/stats")
async def stats() -> dict[str, int]:
    return {"consumers": open_consumers}


@app.websocket("/ws")
async def feed(websocket: WebSocket) -> None:
    global open_consumers
    await websocket.accept()
    request = json.loads(await websocket.receive_text())
    watched = set(request.get("accounts") or [])
    consumer = AIOKafkaConsumer(
        TOPICS.balance_changed,
        **from_environment().aiokafka(),
        group_id=None,
        auto_offset_reset="latest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    open_consumers += 1
    try:
        await consumer.seek_to_end()
        await websocket.send_text(json.dumps({"type": "subscribed", "accounts": sorted(watched)}))
        forward = asyncio.create_task(_forward(consumer, websocket, watched))
        listen = asyncio.create_task(_until_disconnect(websocket))
        await asyncio.wait({forward, listen}, return_when=asyncio.FIRST_COMPLETED)
        for task in (forward, listen):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await task
    finally:
        open_consumers -= 1
        await consumer.stop()


async def _forward(consumer: AIOKafkaConsumer, websocket: WebSocket, watched: set[str]) -> None:
    async for record in consumer:
        event = codec.decode(record.value).value
        if event["iban"] in watched:
            message = {"type": "balance_changed", **event, "sent_at": time.time_ns() // 10**6}
            await websocket.send_text(json.dumps(message))


async def _until_disconnect(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
