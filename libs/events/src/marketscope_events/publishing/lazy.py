"""An outbox publisher that resolves topic ARNs on first use.

`TopicDirectory.from_sts` needs a network call; doing it lazily keeps an app's start free
of AWS calls (``/healthz`` answers even while AWS is unreachable), and a failed lookup is
a `PublishError` that the relay's next pass retries like any publish failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events.catalog import CATALOG, Catalog
from marketscope_events.envelope import Envelope
from marketscope_events.errors import PublishError
from marketscope_events.publishing.sns import SnsPublisher
from marketscope_events.publishing.topics import TopicDirectory

if TYPE_CHECKING:
    from types_aiobotocore_sns import SNSClient
    from types_aiobotocore_sts import STSClient


class LazySnsPublisher:
    def __init__(
        self, sns: SNSClient, sts: STSClient, region: str, *, catalog: Catalog = CATALOG
    ) -> None:
        self._sns = sns
        self._sts = sts
        self._region = region
        self._catalog = catalog
        self._publisher: SnsPublisher | None = None

    async def publish_batch(self, envelopes: Sequence[Envelope]) -> list[str]:
        if self._publisher is None:
            try:
                topics = await TopicDirectory.from_sts(self._sts, self._region)
            except (ClientError, BotoCoreError) as exc:
                raise PublishError([e.id for e in envelopes], f"no topic ARNs: {exc}") from exc
            self._publisher = SnsPublisher(self._sns, topics, catalog=self._catalog)
        return await self._publisher.publish_batch(envelopes)
