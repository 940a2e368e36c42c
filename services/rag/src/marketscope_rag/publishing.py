"""The outbox relay's publisher, resolving topic ARNs on first use.

`TopicDirectory.from_sts` needs a network call; doing it lazily keeps the app's start
free of AWS calls (``/healthz`` answers even while AWS is unreachable) and a failed
lookup is retried by the relay's next pass like any publish failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from marketscope_events import Envelope, SnsPublisher, TopicDirectory
from marketscope_events.errors import PublishError


class LazySnsPublisher:
    def __init__(self, sns: Any, sts: Any, region: str) -> None:
        self._sns = sns
        self._sts = sts
        self._region = region
        self._publisher: SnsPublisher | None = None

    async def publish_batch(self, envelopes: Sequence[Envelope]) -> list[str]:
        if self._publisher is None:
            try:
                topics = await TopicDirectory.from_sts(self._sts, self._region)
            except (ClientError, BotoCoreError) as exc:
                raise PublishError([e.id for e in envelopes], f"no topic ARNs: {exc}") from exc
            self._publisher = SnsPublisher(self._sns, topics)
        return await self._publisher.publish_batch(envelopes)
