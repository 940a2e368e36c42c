"""What a delivery says on each channel: the webhook's JSON body (Standard Webhooks'
``type`` / ``timestamp`` / ``data``), and the subject and text of e-mail and SMS."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from marketscope_notifier.channels.base import OutboundMessage
from marketscope_notifier.channels.records import DeliveryRecord

NOTIFICATION_EVENT = "notification.created"
TEST_EVENT = "channel.test"
TEST_TEXT = "This is a test event from MarketScope: the channel works."


def _data(delivery: DeliveryRecord, public_url: str) -> dict[str, Any]:
    notification = delivery.notification
    if notification is None:
        return {"channel_id": delivery.channel_id, "message": TEST_TEXT}
    data = notification.model_dump(mode="json", exclude={"owner"})
    if notification.link:
        data["url"] = public_url.rstrip("/") + notification.link
    return data


def outbound(delivery: DeliveryRecord, *, now: datetime, public_url: str) -> OutboundMessage:
    body = {
        "type": delivery.event_type,
        "timestamp": delivery.created_at.isoformat().replace("+00:00", "Z"),
        "data": _data(delivery, public_url),
    }
    notification = delivery.notification
    if notification is None:
        subject, text = "Test event", TEST_TEXT
    else:
        subject = notification.title
        link = f"\n\n{public_url.rstrip('/')}{notification.link}" if notification.link else ""
        text = f"{notification.body}{link}"
    return OutboundMessage(
        message_id=delivery.delivery_id,
        payload=json.dumps(body, separators=(",", ":")).encode(),
        timestamp=now,
        subject=subject,
        text=text,
    )
