"""The notifier service's built object graph: its event store and outbox relay, the
alerts (their streams and indexes, the evaluator of new prices), the inbox and the
notices made from other services' events and from ops alarms, and the delivery channels
(webhook, e-mail, SMS) with their job queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx

from marketscope_events import DynamoDBEventStore, OutboxRelay
from marketscope_notifier.alerts.evaluation import AlertEvaluator
from marketscope_notifier.alerts.prices import PriceWindow
from marketscope_notifier.alerts.repository import AlertRepository
from marketscope_notifier.alerts.service import AlertService
from marketscope_notifier.channels.delivery import Deliveries, TellOwner
from marketscope_notifier.channels.jobs import JobQueue
from marketscope_notifier.channels.records import ChannelRecord
from marketscope_notifier.channels.repository import ChannelRepository
from marketscope_notifier.channels.senders import Senders
from marketscope_notifier.channels.service import ChannelService
from marketscope_notifier.channels.sns import EmailSender, SmsSender, TopicArn
from marketscope_notifier.channels.webhook import WebhookSender, new_client
from marketscope_notifier.handlers import NotifierHandlers
from marketscope_notifier.inbox.notices import Notices
from marketscope_notifier.inbox.operators import Operators
from marketscope_notifier.inbox.ops import OpsNotices
from marketscope_notifier.inbox.repository import InboxRepository
from marketscope_notifier.settings import Settings
from marketscope_notifier.store import open_event_store
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import MetricsRecorder, build_relay

CHANNEL_LINK = "/api/v1/notification-channels/{channel_id}"


@dataclass(frozen=True)
class Components:
    settings: Settings
    aws: AwsClients
    metrics: MetricsRecorder
    store: DynamoDBEventStore
    relay: OutboxRelay
    alerts: AlertService
    inbox: InboxRepository
    operators: Operators
    channels: ChannelService
    deliveries: Deliveries
    handlers: NotifierHandlers
    webhook_client: httpx.AsyncClient

    async def aclose(self) -> None:
        await self.webhook_client.aclose()


def _owner_told(notices: Notices) -> TellOwner:
    async def tell(channel: ChannelRecord, reason: str, at: datetime) -> None:
        where = channel.url or channel.email or channel.phone or channel.channel_id
        await notices.account(
            channel.owner,
            title=f"A {channel.type} channel was disabled",
            body=f"Nothing more is sent to {where}: {reason}. Enable it again once it is fixed.",
            link=CHANNEL_LINK.format(channel_id=channel.channel_id),
            at=at,
            about=f"{channel.channel_id}:disabled:{at.isoformat()}",
        )

    return tell


async def build_components(
    settings: Settings, aws: AwsClients, metrics: MetricsRecorder
) -> Components:
    dynamodb, sns = await aws.client("dynamodb"), await aws.client("sns")
    store = open_event_store(dynamodb, settings.table_name)
    alerts = AlertRepository(store, dynamodb, settings.table_name)
    inbox = InboxRepository(dynamodb, settings.table_name)
    notices = Notices(store, inbox)
    operators = Operators(dynamodb, settings.table_name)
    evaluator = AlertEvaluator(alerts, PriceWindow(dynamodb, settings.table_name), inbox, metrics)
    email_topic = TopicArn(
        await aws.client("sts"), aws.settings.default_region, settings.user_notifications_topic
    )
    channel_store = ChannelRepository(dynamodb, settings.table_name)
    webhook_client = new_client()
    sms = SmsSender(sns)
    senders = Senders(
        webhook=WebhookSender(
            webhook_client,
            allow=settings.webhook_allow_networks,
            timeout=settings.webhook_timeout_seconds,
        ),
        email=EmailSender(sns),
        sms=sms,
        email_topic=email_topic,
    )
    deliveries = Deliveries(
        channel_store,
        JobQueue(await aws.client("sqs"), settings.queue_name),
        senders,
        _owner_told(notices),
        metrics,
        public_url=settings.public_url,
    )
    return Components(
        settings=settings,
        aws=aws,
        metrics=metrics,
        store=store,
        relay=await build_relay(aws, store),
        alerts=AlertService(alerts),
        inbox=inbox,
        operators=operators,
        channels=ChannelService(
            channel_store,
            sns,
            sms,
            email_topic=email_topic,
            allow=settings.webhook_allow_networks,
        ),
        deliveries=deliveries,
        handlers=NotifierHandlers(evaluator, notices, deliveries, OpsNotices(operators, notices)),
        webhook_client=webhook_client,
    )
