"""The notification latency phase, at low load: from a QuoteUpdated published to its SNS
topic (as market-data's relay publishes it) to the NotificationCreated of the alert it
fires arriving on the owner's WebSocket through the gateway.

Each sample is one alert and one quote, one at a time: an alert set through the gateway
(``POST /api/v1/alerts``: the gateway asks market-data for the symbol, then the
notifier stores it), ``greater_than`` a level far above any price the replay serves (so
that only the benchmark's quote fires it), then a quote above the level. Its path: SNS,
the notifier's queue, its consumer, the evaluator (the symbol's alerts, its prices), the
append of AlertTriggered and NotificationCreated, the inbox, the outbox relay, SNS, the
gateway's own queue, its consumer, the owner's socket. Every frame is stamped with the
benchmark's clock as it arrives.

Between samples the notifier's table is emptied (see `TableSweeper`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from evaluation import quote_event
from figures import Log, summary
from websockets.asyncio.client import ClientConnection, connect

from bench.chat.account import User, sign_up
from bench.chat.chat_table import ChatTable
from marketscope_events import SnsPublisher, TopicDirectory

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

LEVEL = 10_000.0  # above every price of the replay's data
ARRIVAL_SECONDS = 30.0


class TableSweeper(ChatTable):
    """The notifier's table on the emulator, emptied before each sample.

    moto deep-copies the whole table for every action of a ``TransactWriteItems``, and a
    fire appends that way (a check and two events): left alone, each sample would cost
    more than the one before it, as every sample's alert, events, inbox entry and
    idempotency records stay (real DynamoDB does not do this). Every sample has an alert
    of its own, never read again, so emptying the table loses nothing a later sample
    needs (the chat benchmark's sweeper, bench/chat/chat_table.py, with its reasons).
    """


@dataclass
class Arrival:
    at: float  # time.time() as the frame arrived
    frame: dict[str, Any]


@dataclass
class NotificationSocket:
    """The owner's socket, subscribed to ``notifications``; every NotificationCreated is
    kept by the alert its link names."""

    ws: ClientConnection
    arrivals: dict[str, Arrival] = field(default_factory=dict)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def read(self) -> None:
        async for text in self.ws:
            at = time.time()
            frame = json.loads(text)
            if frame.get("type") != "event" or frame.get("event") != "NotificationCreated":
                continue
            link = str(frame["data"].get("link") or "")
            async with self.arrived:
                self.arrivals[link.rsplit("/", 1)[-1]] = Arrival(at, frame)
                self.arrived.notify_all()

    async def notification_of(self, alert_id: str) -> Arrival:
        async with self.arrived, asyncio.timeout(ARRIVAL_SECONDS):
            await self.arrived.wait_for(lambda: alert_id in self.arrivals)
        return self.arrivals[alert_id]


async def _expect(ws: ClientConnection, kind: str) -> None:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), ARRIVAL_SECONDS))
        if frame["type"] == kind:
            return
        if frame["type"] == "error":
            raise RuntimeError(f"the gateway's socket refused: {frame}")


@contextlib.asynccontextmanager
async def notifications(gateway_url: str, user: User) -> AsyncIterator[NotificationSocket]:
    url = gateway_url.replace("http://", "ws://").rstrip("/") + "/ws"
    async with connect(url, additional_headers=user.auth) as ws:
        await _expect(ws, "welcome")
        await ws.send(json.dumps({"type": "subscribe", "channel": "notifications"}))
        await _expect(ws, "subscribed")
        socket = NotificationSocket(ws)
        reader = asyncio.create_task(socket.read())
        try:
            yield socket
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


@dataclass(frozen=True)
class Sample:
    total_ms: float  # published -> on the socket
    to_fired_ms: float  # published -> the notification made (its created_at)
    to_gateway_ms: float  # the notification's event time -> the gateway took it off its queue
    to_socket_ms: float  # the gateway took it -> on the socket


async def one_sample(
    gateway: httpx.AsyncClient,
    user: User,
    socket: NotificationSocket,
    publisher: SnsPublisher,
    symbol: str,
    number: int,
) -> Sample:
    body = {"symbol": symbol, "condition": {"kind": "greater_than", "level": LEVEL}}
    created = await gateway.post("/api/v1/alerts", json=body, headers=user.auth)
    if created.status_code != 201:
        raise RuntimeError(f"POST /api/v1/alerts answered {created.status_code}: {created.text}")
    alert_id = str(created.json()["alert_id"])
    price = LEVEL + 1 + number / 100
    envelope = quote_event(symbol, price, datetime.now(UTC), number + 1)
    published = time.time()
    await publisher.publish(envelope)
    arrival = await socket.notification_of(alert_id)
    frame = arrival.frame
    fired = _epoch(frame["data"]["created_at"])
    received = _epoch(frame["received_at"])
    return Sample(
        total_ms=(arrival.at - published) * 1000,
        to_fired_ms=(fired - published) * 1000,
        to_gateway_ms=(received - _epoch(frame["time"])) * 1000,
        to_socket_ms=(arrival.at - received) * 1000,
    )


async def run_latency(
    gateway_url: str,
    sns: Any,
    dynamodb: DynamoDBClient,
    topics: TopicDirectory,
    notifier_table: str,
    symbol: str,
    samples: int,
    warmups: int,
    target_p99_ms: float,
    log: Log,
) -> dict[str, Any]:
    publisher = SnsPublisher(sns, topics)
    sweeper = TableSweeper(dynamodb, notifier_table)
    measured: list[Sample] = []
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as gateway:
        user = await sign_up(gateway)
        async with notifications(gateway_url, user) as socket:
            for number in range(warmups + samples):
                await sweeper.clear()
                sample = await one_sample(gateway, user, socket, publisher, symbol, number)
                if number >= warmups:
                    measured.append(sample)
                done = number + 1 - warmups
                if number < warmups or done % 10 == 0 or done == samples:
                    what = "warm-up" if number < warmups else f"sample {done}/{samples}"
                    log(f"  {what}: {sample.total_ms:.0f} ms published -> on the socket")
    total = summary([sample.total_ms for sample in measured])
    p99 = total.get("p99_ms")
    return {
        "symbol": symbol,
        "samples": samples,
        "warmups": warmups,
        "alert": {"kind": "greater_than", "level": LEVEL, "frequency": "once"},
        "alerts_set_through": "the gateway, POST /api/v1/alerts",
        "published_to_socket": total,
        "published_to_fired": summary([sample.to_fired_ms for sample in measured]),
        "notification_to_gateway_queue": summary([s.to_gateway_ms for s in measured]),
        "gateway_to_socket": summary([sample.to_socket_ms for sample in measured]),
        "target_p99_ms": target_p99_ms,
        "met": p99 is not None and p99 <= target_p99_ms,
        "notifier_table_items_cleared": sweeper.items_cleared,
    }
