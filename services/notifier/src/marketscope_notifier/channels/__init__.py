"""Delivery channels: the port (`base`), webhooks (`webhook`) behind the SSRF guard
(`ssrf`), and the retry schedule (`schedule`)."""

from __future__ import annotations

from marketscope_notifier.channels.base import (
    Channel,
    DeliveryAttempt,
    DeliveryOutcome,
    OutboundMessage,
)
from marketscope_notifier.channels.schedule import next_delay, split_delay, sqs_delay
from marketscope_notifier.channels.ssrf import (
    HostNotResolved,
    PinnedTarget,
    RefusalReason,
    TargetRefused,
    resolve_public,
)
from marketscope_notifier.channels.webhook import (
    WebhookDestination,
    WebhookSender,
    new_client,
    new_secret,
)

__all__ = [
    "Channel",
    "DeliveryAttempt",
    "DeliveryOutcome",
    "HostNotResolved",
    "OutboundMessage",
    "PinnedTarget",
    "RefusalReason",
    "TargetRefused",
    "WebhookDestination",
    "WebhookSender",
    "new_client",
    "new_secret",
    "next_delay",
    "resolve_public",
    "split_delay",
    "sqs_delay",
]
