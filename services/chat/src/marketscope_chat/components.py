"""The chat service's built object graph: its event store and that store's outbox relay.

The conversations and analysis jobs that will append to the store come with the issue
that builds the service out; what exists now is what they will need from AWS.
"""

from __future__ import annotations

from dataclasses import dataclass

from marketscope_chat.settings import Settings
from marketscope_chat.store import open_event_store
from marketscope_events import DynamoDBEventStore, OutboxRelay
from marketscope_platform.aws import AwsClients
from marketscope_servicekit import MetricsRecorder, build_relay


@dataclass(frozen=True)
class Components:
    store: DynamoDBEventStore
    relay: OutboxRelay


async def build_components(
    settings: Settings,
    aws: AwsClients,
    metrics: MetricsRecorder,  # the shared build signature; nothing records metrics yet
) -> Components:
    store = open_event_store(await aws.client("dynamodb"), settings.table_name)
    return Components(store=store, relay=await build_relay(aws, store))
