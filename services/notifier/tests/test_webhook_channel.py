"""Webhook delivery over real HTTP on loopback: a receiver verifies every request with the
``standardwebhooks`` package, and the retry schedule."""

from __future__ import annotations

import base64
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from ipaddress import ip_network

import httpx
import pytest
from standardwebhooks import Webhook

from marketscope_notifier.channels import (
    DeliveryOutcome,
    OutboundMessage,
    WebhookDestination,
    WebhookSender,
    new_client,
    new_secret,
    next_delay,
    split_delay,
    sqs_delay,
)
from marketscope_notifier.channels.schedule import (
    MAX_RETRY_AFTER_SECONDS,
    RETRY_DELAYS_SECONDS,
    must_wait,
)
from marketscope_notifier.channels.webhook import parse_retry_after, signature_header
from marketscope_servicekit.testing import served

from .webhook_receiver import Receiver, receiver_app

LOOPBACK = (ip_network("127.0.0.0/8"),)
PAYLOAD = b'{"type":"alert.triggered","data":{"symbol":"AAPL","price":"201.5"}}'


@pytest.fixture
def secret() -> str:
    return new_secret()


@pytest.fixture
def receiver(secret: str) -> Receiver:
    return Receiver([secret])


@pytest.fixture
async def base_url(receiver: Receiver) -> AsyncIterator[str]:
    async with served(receiver_app(receiver)) as url:
        yield url


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with new_client() as client:
        yield client


@pytest.fixture
def sender(client: httpx.AsyncClient) -> WebhookSender:
    return WebhookSender(client, allow=LOOPBACK)


def now() -> datetime:
    return datetime.now(UTC)


async def test_a_delivery_is_verified_by_the_receiver(
    sender: WebhookSender, base_url: str, receiver: Receiver, secret: str
) -> None:
    sent_at = now()
    attempt = await sender.send(f"{base_url}/hook", [secret], "msg_1", PAYLOAD, timestamp=sent_at)
    assert attempt.outcome is DeliveryOutcome.DELIVERED, attempt
    assert (attempt.status_code, attempt.error, attempt.retry_after_seconds) == (200, None, None)
    assert attempt.duration_ms >= 0
    [entry] = receiver.received
    assert entry.body == PAYLOAD
    assert entry.headers["webhook-id"] == "msg_1"
    assert entry.headers["webhook-timestamp"] == str(int(sent_at.timestamp()))
    assert entry.headers["content-type"] == "application/json"
    assert entry.headers["user-agent"] == "MarketScope-Webhooks/1"
    assert receiver.verified == [secret]
    # The excerpt for the deliveries log is bounded, whatever the receiver sends.
    assert attempt.response_excerpt.startswith("thanks ")
    assert len(attempt.response_excerpt.encode()) == 1024


async def test_during_a_rotation_each_secret_verifies_on_its_own(
    sender: WebhookSender, base_url: str, receiver: Receiver, secret: str
) -> None:
    new = new_secret()
    receiver.secrets.append(new)
    attempt = await sender.send(
        f"{base_url}/hook", [secret, new], "msg_2", PAYLOAD, timestamp=now()
    )
    assert attempt.outcome is DeliveryOutcome.DELIVERED
    assert receiver.verified == [secret, new]
    signatures = receiver.received[0].headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(part.startswith("v1,") for part in signatures)


async def test_a_receiver_with_another_secret_rejects_it(
    sender: WebhookSender, base_url: str, receiver: Receiver
) -> None:
    attempt = await sender.send(
        f"{base_url}/hook", [new_secret()], "msg_3", PAYLOAD, timestamp=now()
    )
    assert (attempt.outcome, attempt.status_code) == (DeliveryOutcome.RETRY, 401)
    assert receiver.verified == []


def test_the_signature_does_not_depend_on_the_timestamps_zone(secret: str) -> None:
    instant = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    elsewhere = instant.astimezone(timezone(timedelta(hours=5)))
    assert signature_header([secret], "m", elsewhere, PAYLOAD) == signature_header(
        [secret], "m", instant, PAYLOAD
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        signature_header([secret], "m", instant.replace(tzinfo=None), PAYLOAD)
    with pytest.raises(ValueError, match="at least one secret"):
        signature_header([], "m", instant, PAYLOAD)


async def test_a_500_is_retried(sender: WebhookSender, base_url: str, secret: str) -> None:
    attempt = await sender.send(f"{base_url}/status/500", [secret], "m", PAYLOAD, timestamp=now())
    assert (attempt.outcome, attempt.status_code) == (DeliveryOutcome.RETRY, 500)
    assert attempt.retry_after_seconds is None
    assert attempt.error == "the receiver answered 500"
    assert attempt.response_excerpt == "nope"


async def test_a_503_with_retry_after_says_when(
    sender: WebhookSender, base_url: str, secret: str
) -> None:
    url = f"{base_url}/status/503?retry_after=120"
    attempt = await sender.send(url, [secret], "m", PAYLOAD, timestamp=now())
    assert (attempt.outcome, attempt.status_code) == (DeliveryOutcome.RETRY, 503)
    assert attempt.retry_after_seconds == 120


async def test_a_429_with_an_http_date_retry_after(
    sender: WebhookSender, base_url: str, secret: str
) -> None:
    when = format_datetime(now() + timedelta(minutes=10), usegmt=True)
    url = str(httpx.URL(f"{base_url}/status/429", params={"retry_after": when}))
    attempt = await sender.send(url, [secret], "m", PAYLOAD, timestamp=now())
    assert attempt.outcome is DeliveryOutcome.RETRY
    assert attempt.retry_after_seconds is not None
    assert 590 <= attempt.retry_after_seconds <= 600


def test_retry_after_forms() -> None:
    at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=at) == 120
    assert parse_retry_after("Sat, 01 Mar 2025 12:02:00 GMT", now=at) == 120
    assert parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", now=at) == 0
    assert parse_retry_after("soon", now=at) is None
    assert parse_retry_after("-5", now=at) is None
    assert parse_retry_after(None, now=at) is None


async def test_a_410_means_gone(sender: WebhookSender, base_url: str, secret: str) -> None:
    attempt = await sender.send(f"{base_url}/status/410", [secret], "m", PAYLOAD, timestamp=now())
    assert (attempt.outcome, attempt.status_code) == (DeliveryOutcome.GONE, 410)


async def test_a_redirect_is_not_followed(
    client: httpx.AsyncClient, base_url: str, receiver: Receiver, secret: str
) -> None:
    # Even a client that follows redirects by default does not follow a webhook's.
    async with httpx.AsyncClient(follow_redirects=True, trust_env=False) as following:
        sender = WebhookSender(following, allow=LOOPBACK)
        attempt = await sender.send(f"{base_url}/redirect", [secret], "m", PAYLOAD, timestamp=now())
    assert (attempt.outcome, attempt.status_code) == (DeliveryOutcome.RETRY, 302)
    assert [entry.path for entry in receiver.received] == ["/redirect"]


async def test_a_slow_receiver_times_out_and_is_retried(
    client: httpx.AsyncClient, base_url: str, secret: str
) -> None:
    sender = WebhookSender(client, allow=LOOPBACK, timeout=0.3)
    attempt = await sender.send(f"{base_url}/slow", [secret], "m", PAYLOAD, timestamp=now())
    assert (attempt.outcome, attempt.status_code) == (DeliveryOutcome.RETRY, None)
    assert attempt.error == "no complete answer within 0.3s"
    assert attempt.duration_ms < 2000


async def test_a_closed_port_is_retried_with_the_error(sender: WebhookSender, secret: str) -> None:
    from marketscope_servicekit.testing import free_port

    url = f"http://127.0.0.1:{free_port()}/hook"
    attempt = await sender.send(url, [secret], "m", PAYLOAD, timestamp=now())
    assert (attempt.outcome, attempt.status_code) == (DeliveryOutcome.RETRY, None)
    assert attempt.error is not None
    assert attempt.error.startswith("ConnectError")


async def test_a_private_target_is_refused_and_not_sent_to(
    client: httpx.AsyncClient, base_url: str, receiver: Receiver, secret: str
) -> None:
    sender = WebhookSender(client)  # no allow-list: loopback is not public
    attempt = await sender.send(f"{base_url}/hook", [secret], "m", PAYLOAD, timestamp=now())
    assert (attempt.outcome, attempt.status_code) == (DeliveryOutcome.REFUSED, None)
    assert attempt.error is not None
    assert "127.0.0.1" in attempt.error
    assert "loopback" in attempt.error
    assert receiver.received == []


async def test_deliver_is_send_through_the_channel_port(
    sender: WebhookSender, base_url: str, receiver: Receiver, secret: str
) -> None:
    message = OutboundMessage("msg_9", PAYLOAD, now())
    attempt = await sender.deliver(WebhookDestination(f"{base_url}/hook", (secret,)), message)
    assert attempt.outcome is DeliveryOutcome.DELIVERED
    assert receiver.received[0].headers["webhook-id"] == "msg_9"


def test_new_secret_is_24_random_bytes_in_standard_form() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 24
    assert first != second
    Webhook(first)  # the package accepts it


# The schedule


def test_the_schedule_follows_standard_webhooks() -> None:
    assert RETRY_DELAYS_SECONDS == (5, 300, 1800, 7200, 18000, 36000)
    middle = _FixedRandom(0.0)
    assert [next_delay(n, rng=middle) for n in range(1, 7)] == list(RETRY_DELAYS_SECONDS)


def test_after_the_last_delay_it_gives_up() -> None:
    assert next_delay(6) is not None
    assert next_delay(7) is None
    assert next_delay(7, retry_after=60) is None
    with pytest.raises(ValueError, match="from 1"):
        next_delay(0)


@pytest.mark.parametrize("attempt", range(1, 7))
def test_jitter_stays_within_a_fifth(attempt: int) -> None:
    base = RETRY_DELAYS_SECONDS[attempt - 1]
    assert next_delay(attempt, rng=_FixedRandom(-0.2)) == pytest.approx(base * 0.8)
    assert next_delay(attempt, rng=_FixedRandom(0.2)) == pytest.approx(base * 1.2)
    rng = random.Random(7)
    delays = [next_delay(attempt, rng=rng) for _ in range(200)]
    assert all(d is not None and base * 0.8 <= d <= base * 1.2 for d in delays)
    assert len(set(delays)) > 100


def test_retry_after_is_honoured_when_longer_and_capped_at_a_day() -> None:
    exact = _FixedRandom(0.0)
    assert next_delay(1, retry_after=120, rng=exact) == 120
    assert next_delay(2, retry_after=120, rng=exact) == 300  # the schedule is longer
    assert next_delay(1, retry_after=7 * 86400, rng=exact) == MAX_RETRY_AFTER_SECONDS == 86400


def test_split_delay_carries_long_waits_over_sqs_sends() -> None:
    assert split_delay(5) == (5, 0.0)
    assert split_delay(900) == (900, 0.0)
    assert split_delay(7200) == (900, 6300.0)
    assert split_delay(4.2) == (5, 0.0)  # never early
    assert split_delay(0) == (0, 0.0)
    assert sqs_delay(7200) == 900
    assert sqs_delay(-3) == 0
    # A message that comes back with the rest still to wait is put back again.
    remaining = 7200.0
    sends = []
    while must_wait(remaining):
        delay, remaining = split_delay(remaining)
        sends.append(delay)
    assert sends == [900] * 8


class _FixedRandom(random.Random):
    """``uniform`` always lands at ``value``."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def uniform(self, a: float, b: float) -> float:
        assert (a, b) == (-0.2, 0.2)
        return self.value
