"""Webhook delivery: one signed POST (Standard Webhooks) to a URL the SSRF guard checked.

The signature is the ``standardwebhooks`` package's own, so what a receiver verifies
with any Standard Webhooks library is exactly what was signed here.
"""

from __future__ import annotations

import asyncio
import base64
import math
import secrets as secrets_module
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from standardwebhooks import Webhook

from marketscope_notifier.channels.base import (
    RESPONSE_EXCERPT_BYTES,
    Channel,
    DeliveryAttempt,
    DeliveryOutcome,
    OutboundMessage,
)
from marketscope_notifier.channels.ssrf import (
    HostNotResolved,
    IPNetwork,
    Resolver,
    TargetRefused,
    resolve_public,
)

USER_AGENT = "MarketScope-Webhooks/1"
DEFAULT_TIMEOUT_SECONDS = 15.0
SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 24


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form (``whsec_`` + base64)."""
    return SECRET_PREFIX + base64.b64encode(secrets_module.token_bytes(_SECRET_BYTES)).decode()


def signature_header(
    secrets: Sequence[str], message_id: str, timestamp: datetime, payload: bytes
) -> str:
    """``webhook-signature``: one ``v1,<base64>`` per secret, space-separated, so a
    receiver holding either secret during a rotation verifies the message."""
    if not secrets:
        raise ValueError("a webhook is signed with at least one secret")
    text = payload.decode("utf-8")
    # The package takes the timestamp's wall clock as UTC, whatever its zone: give it UTC.
    utc = _aware(timestamp).astimezone(UTC)
    return " ".join(Webhook(secret).sign(message_id, utc, text) for secret in secrets)


def unix_seconds(timestamp: datetime) -> int:
    return math.floor(_aware(timestamp).timestamp())


def _aware(timestamp: datetime) -> datetime:
    if timestamp.tzinfo is None:
        raise ValueError("the webhook timestamp must be timezone-aware")
    return timestamp


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Retry-After as seconds from ``now``: delta-seconds or an HTTP date; None when
    absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def outcome_of(status_code: int) -> DeliveryOutcome:
    if 200 <= status_code < 300:
        return DeliveryOutcome.DELIVERED
    if status_code == 410:
        return DeliveryOutcome.GONE
    # Redirects are not followed: a 3xx is a failure like any other non-2xx.
    return DeliveryOutcome.RETRY


@dataclass(frozen=True)
class WebhookDestination:
    url: str
    # Every secret valid right now (two during a rotation).
    secrets: tuple[str, ...]


class WebhookSender(Channel[WebhookDestination]):
    """Sends one signed webhook per call over ``client``.

    Build the client with `new_client` (or at least ``trust_env=False``): a proxy would
    resolve the host itself, around the guard. No HTTP/2: the pool would share a
    connection between names at one address. Plain http connections are reused; an https
    one is closed after its request, as the pool cannot tell which name it verified.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        allow: Sequence[IPNetwork] = (),
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        resolver: Resolver | None = None,
    ) -> None:
        self._client = client
        self._allow = tuple(allow)
        self._timeout = timeout
        self._resolver = resolver

    async def deliver(
        self, destination: WebhookDestination, message: OutboundMessage
    ) -> DeliveryAttempt:
        return await self.send(
            destination.url,
            destination.secrets,
            message.message_id,
            message.payload,
            timestamp=message.timestamp,
        )

    async def send(
        self,
        url: str,
        secrets: Sequence[str],
        message_id: str,
        payload: bytes,
        *,
        timestamp: datetime,
    ) -> DeliveryAttempt:
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": str(unix_seconds(timestamp)),
            "webhook-signature": signature_header(secrets, message_id, timestamp, payload),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):  # a stalled resolver is a failure too
                target = await resolve_public(url, allow=self._allow, resolver=self._resolver)
        except TimeoutError:
            error = f"the host did not resolve within {self._timeout:g}s"
            return DeliveryAttempt(DeliveryOutcome.RETRY, None, _since(started), error)
        except TargetRefused as exc:
            return DeliveryAttempt(DeliveryOutcome.REFUSED, None, _since(started), str(exc))
        except HostNotResolved as exc:
            return DeliveryAttempt(DeliveryOutcome.RETRY, None, _since(started), str(exc))
        headers["host"] = target.host_header
        if target.url.scheme == "https":
            # The pool keys connections by address only: one verified for another name at
            # this address must not carry this request, so none is kept for reuse.
            headers["connection"] = "close"
        request = self._client.build_request(
            "POST",
            target.request_url,
            content=payload,
            headers=headers,
            extensions=target.extensions,
            timeout=self._timeout,
        )
        return await self._exchange(request, started)

    async def _exchange(self, request: httpx.Request, started: float) -> DeliveryAttempt:
        status_code: int | None = None
        retry_after: float | None = None
        excerpt = b""
        error: str | None = None
        try:
            # httpx's timeout bounds each phase; this bounds the whole exchange.
            async with asyncio.timeout(self._timeout):
                response = await self._client.send(request, stream=True, follow_redirects=False)
                try:
                    status_code = response.status_code
                    retry_after = parse_retry_after(
                        response.headers.get("retry-after"), now=datetime.now(UTC)
                    )
                    excerpt = await _read_excerpt(response)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            error = f"no complete answer within {self._timeout:g}s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        duration = _since(started)
        if status_code is None:
            return DeliveryAttempt(DeliveryOutcome.RETRY, None, duration, error)
        outcome = outcome_of(status_code)
        if error is None and outcome is not DeliveryOutcome.DELIVERED:
            error = f"the receiver answered {status_code}"
        return DeliveryAttempt(
            outcome,
            status_code,
            duration,
            error,
            retry_after_seconds=retry_after if outcome is DeliveryOutcome.RETRY else None,
            response_excerpt=excerpt.decode("utf-8", errors="replace"),
        )


async def _read_excerpt(response: httpx.Response) -> bytes:
    # Only the start is kept, so a receiver cannot make the sender read an endless body.
    excerpt = b""
    async for chunk in response.aiter_bytes():
        excerpt += chunk
        if len(excerpt) >= RESPONSE_EXCERPT_BYTES:
            break
    return excerpt[:RESPONSE_EXCERPT_BYTES]


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def new_client(*, max_connections: int = 100) -> httpx.AsyncClient:
    """The client a `WebhookSender` is meant for: no proxies or .netrc from the
    environment, no redirects, pooled connections."""
    return httpx.AsyncClient(
        trust_env=False,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=max_connections),
        timeout=DEFAULT_TIMEOUT_SECONDS,
    )
