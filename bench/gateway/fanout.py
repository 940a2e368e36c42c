"""The WebSocket phase: ``clients`` sockets subscribed to ``quotes:AAPL``, QuoteUpdated
events published to SNS one at a time. Per event: from the gateway taking it off its
queue (``received_at`` in the frame) to the last client having it (target p99 <= 100 ms),
and from the SNS publish to the last client. All on one host, so the clocks agree."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from servers import log
from websockets.asyncio.client import ClientConnection, connect

from marketscope_events import CATALOG
from marketscope_events.catalog import QuoteUpdated
from marketscope_events.publishing import SnsPublisher, TopicDirectory
from marketscope_platform import AwsClients
from marketscope_servicekit.metrics import percentile

TARGET_FANOUT_P99_MS = 100.0


def summary(values_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    return {
        "p50_ms": round(percentile(ordered, 0.50), 2),
        "p95_ms": round(percentile(ordered, 0.95), 2),
        "p99_ms": round(percentile(ordered, 0.99), 2),
        "max_ms": round(ordered[-1], 2),
    }


@dataclass
class Arrivals:
    """Per event id: the gateway's receipt time and each client's arrival time."""

    received_at: dict[str, float]
    last_arrival: dict[str, float]
    count: dict[str, int]

    def record(self, raw: str | bytes, now: float) -> None:
        message = json.loads(raw)
        if message.get("type") != "event":
            return
        event_id = message["event_id"]
        self.received_at[event_id] = datetime.fromisoformat(message["received_at"]).timestamp()
        self.last_arrival[event_id] = max(self.last_arrival.get(event_id, 0.0), now)
        self.count[event_id] = self.count.get(event_id, 0) + 1


async def listen(ws: ClientConnection, arrivals: Arrivals) -> None:
    with contextlib.suppress(Exception):
        async for raw in ws:
            arrivals.record(raw, time.time())


async def open_clients(url: str, token: str, count: int) -> list[ClientConnection]:
    clients: list[ClientConnection] = []
    slots = asyncio.Semaphore(50)

    async def one() -> None:
        async with slots:
            ws = await connect(
                url,
                additional_headers={"Authorization": f"Bearer {token}"},
                compression=None,
                max_queue=None,
            )
            await ws.recv()  # welcome
            await ws.send(json.dumps({"type": "subscribe", "channel": "quotes:AAPL"}))
            reply = {"type": "heartbeat"}
            while reply["type"] == "heartbeat":
                reply = json.loads(await ws.recv())
            assert reply["type"] == "subscribed", reply
            clients.append(ws)
            if len(clients) % 200 == 0:
                log(f"  {len(clients)}/{count} clients connected and subscribed")

    await asyncio.gather(*(one() for _ in range(count)))
    return clients


async def websocket_phase(
    gateway: str, token: str, aws: AwsClients, *, clients: int, events: int, gap_s: float
) -> dict[str, Any]:
    log(f"websocket: {clients} clients on quotes:AAPL")
    sockets = await open_clients(gateway.replace("http://", "ws://") + "/ws", token, clients)
    arrivals = Arrivals({}, {}, {})
    listeners = [asyncio.create_task(listen(ws, arrivals)) for ws in sockets]
    topics = await TopicDirectory.from_sts(await aws.client("sts"), aws.settings.default_region)
    publisher = SnsPublisher(await aws.client("sns"), topics)
    published_at: dict[str, float] = {}
    log(f"  publishing {events} QuoteUpdated, one every {gap_s}s")
    for index in range(events):
        price = Decimal("180") + Decimal(index) / 100
        data = QuoteUpdated(
            symbol="AAPL", price=price, previous_price=price - 1, change=Decimal(1),
            change_percent=Decimal("0.5"), as_of=datetime.now(UTC), provider="replay",
        )  # fmt: skip
        envelope = CATALOG.new_event(data, subject="Quote#AAPL")
        published_at[envelope.id] = time.time()
        await publisher.publish(envelope)
        await asyncio.sleep(gap_s)
        if (index + 1) % 20 == 0:
            log(f"  {index + 1}/{events} published")
    await asyncio.sleep(2.0)  # stragglers
    for task in listeners:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)

    complete = [e for e in published_at if arrivals.count.get(e, 0) == clients]
    fanout = [(arrivals.last_arrival[e] - arrivals.received_at[e]) * 1000 for e in complete]
    end_to_end = [(arrivals.last_arrival[e] - published_at[e]) * 1000 for e in complete]
    deliveries = sum(arrivals.count.values())
    result: dict[str, Any] = {
        "clients": clients,
        "events": events,
        "events_delivered_to_every_client": len(complete),
        "deliveries": deliveries,
        "deliveries_expected": clients * events,
        "gateway_receipt_to_last_client": summary(fanout) if fanout else {},
        "sns_publish_to_last_client": summary(end_to_end) if end_to_end else {},
        "target_p99_ms": TARGET_FANOUT_P99_MS,
    }
    result["meets_target"] = (
        bool(fanout) and result["gateway_receipt_to_last_client"]["p99_ms"] <= TARGET_FANOUT_P99_MS
    )
    log(f"  complete events {len(complete)}/{events}, deliveries {deliveries}")
    log(f"  gateway receipt -> last client: {result['gateway_receipt_to_last_client']}")
    log(f"  SNS publish -> last client:     {result['sns_publish_to_last_client']}")
    return result
