"""The webhook phase: `WebhookSender.deliver` (the notifier's own sender, with its SSRF
guard told to allow loopback) posting signed messages to the loopback receiver
(receiver.py, its own process), ``concurrency`` deliveries in flight; then the receiver's
count is checked against the deliveries and a sample of what it received is verified
with the ``standardwebhooks`` package.

`send_directly` is the sender alone. The delivery pipeline (a NotificationCreated
fanned out to the owner's channels, a job per delivery through the notifier's queue,
retries by SQS delays) is a second way of producing the same deliveries: a function of
the same shape (messages in, `Deliveries` out) measures it beside this one.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import ip_network
from typing import Any

import httpx
from figures import Log, Progress, rate, summary
from standardwebhooks import Webhook, WebhookVerificationError

from marketscope_events.catalog.events import NotificationCreated
from marketscope_notifier.channels import (
    DeliveryOutcome,
    OutboundMessage,
    WebhookDestination,
    WebhookSender,
    new_client,
    new_secret,
)

LOOPBACK = ip_network("127.0.0.0/8")
NOTIFICATION_EVENT = "notification.created"


def messages(count: int) -> list[OutboundMessage]:
    """``count`` webhooks of a notification, in the Standard Webhooks body shape
    (``type``, ``timestamp``, ``data``) the notifier sends."""
    now = datetime.now(UTC)
    made: list[OutboundMessage] = []
    for number in range(count):
        notification = NotificationCreated(
            notification_id=f"ntf_bench_{number:06d}",
            owner="usr_bench",
            kind="alert",
            title="BN000 is above 105.00",
            body=f"BN000: price is above 105.00 (at {105 + number / 100:.2f}).",
            link="/api/v1/alerts/alr_bench",
            created_at=now,
        )
        body = {
            "type": NOTIFICATION_EVENT,
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "data": notification.model_dump(mode="json", exclude={"owner"}),
        }
        payload = json.dumps(body, separators=(",", ":")).encode()
        made.append(OutboundMessage(f"msg_{uuid.uuid4().hex}", payload, now))
    return made


@dataclass(frozen=True)
class Deliveries:
    seconds: float
    outcomes: dict[str, int]
    durations_ms: list[float]


async def send_directly(
    sender: WebhookSender,
    destination: WebhookDestination,
    batch: Sequence[OutboundMessage],
    concurrency: int,
    progress: Progress,
) -> Deliveries:
    """Each message delivered once by ``concurrency`` workers."""
    queue: asyncio.Queue[OutboundMessage] = asyncio.Queue()
    for message in batch:
        queue.put_nowait(message)
    outcomes: dict[str, int] = {}
    durations: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            message = queue.get_nowait()
            started = time.perf_counter()
            attempt = await sender.deliver(destination, message)
            durations.append((time.perf_counter() - started) * 1000)
            outcomes[attempt.outcome] = outcomes.get(attempt.outcome, 0) + 1
            progress.advance()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Deliveries(time.perf_counter() - started, outcomes, durations)


async def post_plainly(
    client: httpx.AsyncClient, url: str, batch: Sequence[OutboundMessage], concurrency: int
) -> float:
    """The same bodies POSTed with a plain `httpx.AsyncClient` (no signing, no guard),
    ``concurrency`` at a time: what the HTTP client costs alone. Seconds taken."""
    queue: asyncio.Queue[OutboundMessage] = asyncio.Queue()
    for message in batch:
        queue.put_nowait(message)

    async def worker() -> None:
        while not queue.empty():
            message = queue.get_nowait()
            (await client.post(url, content=message.payload)).raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def verify_samples(secret: str, samples: Sequence[dict[str, Any]]) -> int:
    """Each kept request checked with ``standardwebhooks``' own verification (which
    raises on a bad signature or a stale timestamp), and the first once more with its
    body changed, which must fail; how many were checked."""
    webhook = Webhook(secret)
    for sample in samples:
        webhook.verify(sample["body"], sample["headers"])
    if samples and _passes(webhook, samples[0]["body"] + " ", samples[0]["headers"]):
        raise RuntimeError("a changed body passed the signature check")
    return len(samples)


def _passes(webhook: Webhook, body: str, headers: dict[str, str]) -> bool:
    try:
        webhook.verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


async def run_webhooks(
    receiver_url: str, count: int, concurrencies: Sequence[int], log: Log
) -> dict[str, Any]:
    secret = new_secret()
    destination = WebhookDestination(f"{receiver_url}/hook", (secret,))
    levels: list[dict[str, Any]] = []
    async with (
        new_client(max_connections=max(concurrencies)) as client,
        httpx.AsyncClient(base_url=receiver_url, timeout=30) as receiver,
    ):
        sender = WebhookSender(client, allow=[LOOPBACK])
        # Unmeasured: the connections opened and the code paths warm.
        await send_directly(sender, destination, messages(50), max(concurrencies), _quiet())
        for concurrency in concurrencies:
            (await receiver.post("/reset")).raise_for_status()
            batch = messages(count)
            progress = Progress(log, f"concurrency {concurrency}: delivered", count)
            done = await send_directly(sender, destination, batch, concurrency, progress)
            received = (await receiver.get("/received")).json()
            delivered = done.outcomes.get(DeliveryOutcome.DELIVERED, 0)
            limits = httpx.Limits(max_connections=concurrency)
            async with httpx.AsyncClient(limits=limits, trust_env=False) as plain:
                await post_plainly(plain, destination.url, batch[:50], concurrency)
                plain_seconds = await post_plainly(plain, destination.url, batch, concurrency)
            levels.append(
                {
                    "concurrency": concurrency,
                    "deliveries": count,
                    "delivered": delivered,
                    "outcomes": done.outcomes,
                    "received": received["count"],
                    "seconds": round(done.seconds, 2),
                    "deliveries_per_second": rate(delivered, done.seconds),
                    "delivery": summary(done.durations_ms),
                    "signatures_verified": verify_samples(secret, received["samples"]),
                    "plain_httpx_posts_per_second": rate(count, plain_seconds),
                }
            )
            log(
                f"  concurrency {concurrency}: {levels[-1]['deliveries_per_second']} "
                f"deliveries/s, {levels[-1]['signatures_verified']} signatures verified; "
                f"plain httpx {levels[-1]['plain_httpx_posts_per_second']} POSTs/s"
            )
    return {
        "sender": "marketscope_notifier.channels.webhook.WebhookSender (new_client(), "
        "allow=[127.0.0.0/8]), in the benchmark's process",
        "receiver": "receiver.py under uvicorn, its own process; answers 204",
        "path": "sender alone (deliver() per message); no queue",
        "plain_httpx": "the same bodies POSTed by httpx.AsyncClient at the same concurrency, "
        "after the sender's run (received after the count was read)",
        "payload_bytes": len(messages(1)[0].payload),
        "levels": levels,
        "all_delivered": all(
            level["delivered"] == level["deliveries"] == level["received"] for level in levels
        ),
    }


def _quiet() -> Progress:
    return Progress(lambda _: None, "warm-up", 0)
