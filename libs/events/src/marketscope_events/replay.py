"""Replay: rebuild a projection from a service's own store, or re-publish a producer's
events to one named consumer queue (and to nobody else)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from marketscope_events.catalog import CATALOG, Catalog, DecodedEvent
from marketscope_events.envelope import Envelope
from marketscope_events.errors import PublishError
from marketscope_events.publishing.attributes import message_attributes
from marketscope_events.store.base import EventStore

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient


class Projection(Protocol):
    """Current state derived from events: `reset` forgets it, `apply` folds one event in."""

    def reset(self) -> None: ...

    async def apply(self, event: DecodedEvent[Any]) -> None: ...


async def rebuild_projection(
    store: EventStore,
    projection: Projection,
    *,
    stream_prefix: str,
    catalog: Catalog = CATALOG,
) -> int:
    """Reset the projection and fold in every stream under ``stream_prefix``, in order."""
    projection.reset()
    applied = 0
    for stream_id in await store.list_streams(stream_prefix):
        for envelope in await store.read(stream_id):
            await projection.apply(catalog.decode(envelope))
            applied += 1
    return applied


async def select_events(
    store: EventStore,
    *,
    stream_prefix: str,
    since: datetime | None = None,
    until: datetime | None = None,
    catalog: Catalog = CATALOG,
) -> list[Envelope]:
    """Events of the streams under ``stream_prefix`` with ``since <= time < until``,
    oldest first. Stream-only events are left out: they were never published, so no
    consumer expects them."""
    selected = [
        envelope
        for stream_id in await store.list_streams(stream_prefix)
        for envelope in await store.read(stream_id)
        if (since is None or envelope.time >= since)
        and (until is None or envelope.time < until)
        and not catalog.is_unpublished(envelope.type)
    ]
    selected.sort(
        key=lambda envelope: (envelope.time, envelope.subject or "", envelope.sequence or 0)
    )
    return selected


async def republish_to_queue(sqs: SQSClient, queue_url: str, envelopes: Sequence[Envelope]) -> int:
    """Send events straight to one consumer's queue, as SNS raw delivery would.

    The events keep their ids, so a consumer that already handled one acknowledges it
    without running its handler again: replay fills gaps, it does not double-apply.
    """
    sent = 0
    for start in range(0, len(envelopes), 10):
        chunk = envelopes[start : start + 10]
        response = await sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {
                    "Id": str(index),
                    "MessageBody": envelope.to_json(),
                    "MessageAttributes": message_attributes(envelope),
                }
                for index, envelope in enumerate(chunk)
            ],
        )
        failed = response.get("Failed", [])
        if failed:
            ids = [chunk[int(entry["Id"])].id for entry in failed]
            raise PublishError(ids, "; ".join(str(entry.get("Message")) for entry in failed))
        sent += len(response.get("Successful", []))
    return sent
