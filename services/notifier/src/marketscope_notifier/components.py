"""The notifier service's built object graph: its event store and outbox relay, the
alerts (their streams and indexes, the evaluator of new prices), the inbox and the
notices made from other services' events."""

from __future__ import annotations

from dataclasses import dataclass

from marketscope_events import DynamoDBEventStore, OutboxRelay
from marketscope_notifier.alerts.evaluation import AlertEvaluator
from marketscope_notifier.alerts.prices import PriceWindow
from marketscope_notifier.alerts.repository import AlertRepository
from marketscope_notifier.alerts.service import AlertService
from marketscope_notifier.handlers import NotifierHandlers
from marketscope_notifier.inbox.notices import Notices
from marketscope_notifier.inbox.repository import InboxRepository
from marketscope_notifier.settings import Settings
from marketscope_notifier.store import open_event_store
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import MetricsRecorder, build_relay


@dataclass(frozen=True)
class Components:
    settings: Settings
    aws: AwsClients
    metrics: MetricsRecorder
    store: DynamoDBEventStore
    relay: OutboxRelay
    alerts: AlertService
    inbox: InboxRepository
    handlers: NotifierHandlers


async def build_components(
    settings: Settings, aws: AwsClients, metrics: MetricsRecorder
) -> Components:
    dynamodb = await aws.client("dynamodb")
    store = open_event_store(dynamodb, settings.table_name)
    alerts = AlertRepository(store, dynamodb, settings.table_name)
    inbox = InboxRepository(dynamodb, settings.table_name)
    evaluator = AlertEvaluator(alerts, PriceWindow(dynamodb, settings.table_name), inbox, metrics)
    return Components(
        settings=settings,
        aws=aws,
        metrics=metrics,
        store=store,
        relay=await build_relay(aws, store),
        alerts=AlertService(alerts),
        inbox=inbox,
        handlers=NotifierHandlers(evaluator, Notices(store, inbox)),
    )
