"""E-mail and SMS through SNS: e-mail by publishing to the user-notifications topic with
the owner and channel as message attributes (each e-mail subscription's filter policy
picks its own), SMS by publishing to the verified phone number itself."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.aws_errors import error_code
from marketscope_events.publishing.topics import TopicDirectory
from marketscope_notifier.channels.base import (
    Channel,
    DeliveryAttempt,
    DeliveryOutcome,
    OutboundMessage,
)

if TYPE_CHECKING:
    from types_aiobotocore_sns import SNSClient
    from types_aiobotocore_sts import STSClient

# SNS limits: a subject is at most 100 printable ASCII characters on one line.
SUBJECT_LIMIT = 100
# One SMS segment is 160 GSM characters; longer texts are cut to keep one message.
SMS_LIMIT = 160
# The caller's mistake (a bad number, a topic that is not there): trying again won't help.
_REFUSALS = frozenset({"InvalidParameter", "InvalidParameterValue", "NotFound", "OptedOut"})


class TopicArn:
    """A topic's ARN, found from the caller's account on first use (STS), so building the
    service makes no AWS call."""

    def __init__(self, sts: STSClient, region: str, name: str) -> None:
        self._sts = sts
        self._region = region
        self._name = name
        self._arn: str | None = None

    async def get(self) -> str:
        if self._arn is None:
            topics = await TopicDirectory.from_sts(self._sts, self._region)
            self._arn = topics.arn(self._name)
        return self._arn


@dataclass(frozen=True)
class EmailDestination:
    topic_arn: str
    owner: str
    channel_id: str


@dataclass(frozen=True)
class PhoneDestination:
    phone: str


def email_subject(title: str) -> str:
    flat = " ".join(title.split())
    printable = "".join(char if " " <= char <= "~" else "?" for char in flat)
    return printable[:SUBJECT_LIMIT] or "MarketScope"


def sms_text(subject: str, body: str) -> str:
    text = f"MarketScope: {subject}. {body}".strip()
    return text if len(text) <= SMS_LIMIT else text[: SMS_LIMIT - 1] + "…"


async def _publish(call: Awaitable[object], started: float) -> DeliveryAttempt:
    try:
        await call
    except ClientError as exc:
        outcome = DeliveryOutcome.REFUSED if error_code(exc) in _REFUSALS else DeliveryOutcome.RETRY
        return DeliveryAttempt(outcome, None, _since(started), f"SNS refused: {exc}")
    except BotoCoreError as exc:
        return DeliveryAttempt(DeliveryOutcome.RETRY, None, _since(started), f"SNS: {exc}")
    return DeliveryAttempt(DeliveryOutcome.DELIVERED, None, _since(started))


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


class EmailSender(Channel[EmailDestination]):
    def __init__(self, sns: SNSClient) -> None:
        self._sns = sns

    async def deliver(
        self, destination: EmailDestination, message: OutboundMessage
    ) -> DeliveryAttempt:
        started = time.monotonic()
        return await _publish(
            self._sns.publish(
                TopicArn=destination.topic_arn,
                Subject=email_subject(message.subject),
                Message=message.text,
                MessageAttributes={
                    "owner": {"DataType": "String", "StringValue": destination.owner},
                    "channel": {"DataType": "String", "StringValue": destination.channel_id},
                    "notification": {"DataType": "String", "StringValue": message.message_id},
                },
            ),
            started,
        )


class SmsSender(Channel[PhoneDestination]):
    def __init__(self, sns: SNSClient) -> None:
        self._sns = sns

    async def deliver(
        self, destination: PhoneDestination, message: OutboundMessage
    ) -> DeliveryAttempt:
        return await self.send_text(destination.phone, sms_text(message.subject, message.text))

    async def send_text(self, phone: str, text: str) -> DeliveryAttempt:
        started = time.monotonic()
        return await _publish(
            self._sns.publish(
                PhoneNumber=phone,
                Message=text,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}
                },
            ),
            started,
        )
