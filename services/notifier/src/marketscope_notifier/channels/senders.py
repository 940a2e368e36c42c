"""Which sender a channel's deliveries go through, and to what destination."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_notifier.channels.base import DeliveryAttempt, DeliveryOutcome, OutboundMessage
from marketscope_notifier.channels.records import ChannelRecord
from marketscope_notifier.channels.sns import (
    EmailDestination,
    EmailSender,
    PhoneDestination,
    SmsSender,
    TopicArn,
)
from marketscope_notifier.channels.webhook import WebhookDestination, WebhookSender


@dataclass(frozen=True)
class Senders:
    webhook: WebhookSender
    email: EmailSender
    sms: SmsSender
    email_topic: TopicArn

    async def send(self, channel: ChannelRecord, message: OutboundMessage) -> DeliveryAttempt:
        """One attempt to ``channel``; every failure is an outcome, not an exception."""
        match channel.type:
            case "webhook":
                assert channel.url is not None
                secrets = channel.valid_secrets(message.timestamp)
                return await self.webhook.deliver(WebhookDestination(channel.url, secrets), message)
            case "email":
                try:
                    topic_arn = await self.email_topic.get()
                except (ClientError, BotoCoreError) as exc:
                    return DeliveryAttempt(DeliveryOutcome.RETRY, None, 0, f"STS: {exc}")
                destination = EmailDestination(topic_arn, channel.owner, channel.channel_id)
                return await self.email.deliver(destination, message)
            case "sms":
                assert channel.phone is not None
                return await self.sms.deliver(PhoneDestination(channel.phone), message)
