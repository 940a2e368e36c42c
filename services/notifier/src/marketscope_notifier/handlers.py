"""The notifier service's event consumers: what `run_consumer`'s ``register`` adds.

- QuoteUpdated: the symbol's active alerts are evaluated (`alerts/evaluation.py`); a fire
  appends AlertTriggered and NotificationCreated and fills the owner's inbox.
- AnalysisCompleted, AnalysisFailed, DocumentIndexed: a notification for the owner
  (`inbox/notices.py`).
- NotificationCreated, the notifier's own: the owner's inbox has it (it is written when
  the notification is made; this makes sure a crash between the two lost nothing), and it
  is scheduled on each of the owner's channels that take its kind.
- Raw route ``delivery``: one attempt of a delivery job (`channels/delivery.py`).
- Raw route ``cloudwatch-alarm``: an alarm from the ops topic, for the admins.
"""

from __future__ import annotations

from typing import Any

from marketscope_events import DecodedEvent, RawMessage, RawRoute, SqsConsumer
from marketscope_notifier.alerts.evaluation import AlertEvaluator
from marketscope_notifier.channels.delivery import Deliveries
from marketscope_notifier.channels.jobs import is_job, job_key, job_of
from marketscope_notifier.inbox.notices import Notices
from marketscope_notifier.inbox.ops import OpsNotices

NOTICE_EVENTS = ("AnalysisCompleted", "AnalysisFailed", "DocumentIndexed")
DELIVERY_ROUTE = "delivery"


class NotifierHandlers:
    def __init__(
        self,
        evaluator: AlertEvaluator,
        notices: Notices,
        deliveries: Deliveries,
        ops: OpsNotices,
    ) -> None:
        self._evaluator = evaluator
        self._notices = notices
        self._deliveries = deliveries
        self._ops = ops

    def register(self, consumer: SqsConsumer) -> None:
        consumer.on("QuoteUpdated", self.on_quote)
        for name in NOTICE_EVENTS:
            consumer.on(name, self._notices.handle)
        consumer.on("NotificationCreated", self.on_notification)
        consumer.route_raw(
            RawRoute(
                name=DELIVERY_ROUTE, matches=is_job, handler=self.on_job, idempotency_key=job_key
            )
        )
        consumer.route_raw(self._ops.route())

    async def on_quote(self, event: DecodedEvent[Any]) -> None:
        quote = event.data
        await self._evaluator.on_quote(quote.symbol, float(quote.price), quote.as_of)

    async def on_notification(self, event: DecodedEvent[Any]) -> None:
        await self._notices.delivered(event)
        await self._deliveries.fan_out(event.data)

    async def on_job(self, message: RawMessage) -> None:
        await self._deliveries.run(job_of(message))
