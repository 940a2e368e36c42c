"""Publishes envelopes to their catalog topic on SNS."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.catalog import CATALOG, Catalog
from marketscope_events.envelope import Envelope
from marketscope_events.errors import PublishError, UnpublishedEventError
from marketscope_events.publishing.attributes import message_attributes
from marketscope_events.publishing.topics import TopicDirectory

if TYPE_CHECKING:
    from types_aiobotocore_sns import SNSClient
    from types_aiobotocore_sns.type_defs import PublishBatchRequestEntryTypeDef

SNS_BATCH_LIMIT = 10


class SnsPublisher:
    def __init__(
        self, sns: SNSClient, topics: TopicDirectory, *, catalog: Catalog = CATALOG
    ) -> None:
        self._sns = sns
        self._topics = topics
        self._catalog = catalog

    def topic_arn(self, envelope: Envelope) -> str:
        """The topic of the envelope's event; `UnpublishedEventError` for a stream-only
        event, which has none."""
        topic = self._catalog.spec_for_type(envelope.type).topic
        if topic is None:
            raise UnpublishedEventError(envelope.type, envelope.id)
        return self._topics.arn(topic)

    async def publish(self, envelope: Envelope) -> str:
        topic_arn = self.topic_arn(envelope)
        try:
            response = await self._sns.publish(
                TopicArn=topic_arn,
                Message=envelope.to_json(),
                MessageAttributes=message_attributes(envelope),
            )
        except (ClientError, BotoCoreError) as exc:
            raise PublishError([envelope.id], str(exc)) from exc
        return str(response["MessageId"])

    async def publish_batch(self, envelopes: Sequence[Envelope]) -> list[str]:
        """Publish in batches of 10 per topic. Returns the ids of the events published;
        raises `PublishError` naming the others only when none could be published.
        A stream-only event refuses the whole call (`UnpublishedEventError`) before
        anything is sent."""
        by_topic: dict[str, list[Envelope]] = defaultdict(list)
        for envelope in envelopes:
            by_topic[self.topic_arn(envelope)].append(envelope)
        published: list[str] = []
        failures: list[str] = []
        details: list[str] = []
        for topic_arn, topic_envelopes in by_topic.items():
            for start in range(0, len(topic_envelopes), SNS_BATCH_LIMIT):
                chunk = topic_envelopes[start : start + SNS_BATCH_LIMIT]
                ok, failed, detail = await self._publish_chunk(topic_arn, chunk)
                published.extend(ok)
                failures.extend(failed)
                if detail:
                    details.append(detail)
        if failures and not published:
            raise PublishError(failures, "; ".join(details))
        return published

    async def _publish_chunk(
        self, topic_arn: str, chunk: Sequence[Envelope]
    ) -> tuple[list[str], list[str], str]:
        entries: list[PublishBatchRequestEntryTypeDef] = [
            {
                "Id": str(index),
                "Message": envelope.to_json(),
                "MessageAttributes": message_attributes(envelope),
            }
            for index, envelope in enumerate(chunk)
        ]
        try:
            response = await self._sns.publish_batch(
                TopicArn=topic_arn, PublishBatchRequestEntries=entries
            )
        except (ClientError, BotoCoreError) as exc:
            return [], [envelope.id for envelope in chunk], str(exc)
        ok = [chunk[int(entry["Id"])].id for entry in response.get("Successful", [])]
        failed_entries = response.get("Failed", [])
        failed = [chunk[int(entry["Id"])].id for entry in failed_entries]
        detail = "; ".join(str(entry.get("Message", entry.get("Code"))) for entry in failed_entries)
        return ok, failed, detail
