"""The refresh handler: Lambda's SQS event in, a partial batch response out.

Each record must be the refresh rule's Scheduled Event; anything else is reported as a
batch item failure with its reason logged, so the queue's redrive policy moves it to the
DLQ after 3 receives. One refresh serves every scheduled record of a batch; when it
refreshes nothing at all (providers down) the records fail and are retried.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from marketscope_market_data.refresh.events import RejectedMessage, parse_scheduled_event
from marketscope_market_data.schemas import RefreshSummary
from marketscope_market_data.service import MarketDataService
from marketscope_servicekit import MetricsRecorder

logger = logging.getLogger(__name__)
Publish = Callable[[], Awaitable[object]]


class RefreshHandler:
    def __init__(
        self,
        service: MarketDataService,
        metrics: MetricsRecorder,
        *,
        rule_name: str,
        publish: Publish,
    ) -> None:
        self._service = service
        self._metrics = metrics
        self._rule_name = rule_name
        self._publish = publish

    async def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures: list[str] = []
        scheduled: list[str] = []
        for record in event.get("Records", []):
            message_id = str(record.get("messageId", ""))
            try:
                parse_scheduled_event(str(record.get("body", "")), self._rule_name)
            except RejectedMessage as exc:
                logger.error(
                    "rejected a message that is not a scheduled refresh",
                    extra={
                        "message_id": message_id,
                        "reason": str(exc),
                        "receive_count": record.get("attributes", {}).get(
                            "ApproximateReceiveCount"
                        ),
                    },
                )
                failures.append(message_id)
                continue
            scheduled.append(message_id)
        if scheduled:
            summary = await self.refresh_watched("scheduled")
            self._metrics.increment("ScheduledRefreshFailures", 1 if summary.failed else 0)
            if summary.symbols and not summary.refreshed:
                failures.extend(scheduled)
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}

    async def refresh_watched(self, trigger: str) -> RefreshSummary:
        """Refresh the default and every owner's watchlist, publish what changed."""
        symbols = await self._service.refresh_targets()
        summary = await self._service.refresh(symbols)
        self._metrics.increment("StockUpdates", summary.changed)
        if summary.changed:
            await self._publish()
        logger.info(
            "quote refresh done",
            extra={"trigger": trigger, **summary.model_dump(mode="json")},
        )
        return summary
