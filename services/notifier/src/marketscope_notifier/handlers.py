"""The notifier service's event consumers: what `run_consumer`'s ``register`` adds.

- QuoteUpdated: the symbol's active alerts are evaluated (`alerts/evaluation.py`); a fire
  appends AlertTriggered and NotificationCreated and fills the owner's inbox.
- AnalysisCompleted, AnalysisFailed, DocumentIndexed: a notification for the owner
  (`inbox/notices.py`).
- NotificationCreated, the notifier's own: the owner's inbox has it (it is written when
  the notification is made; this makes sure a crash between the two lost nothing).
"""

from __future__ import annotations

from typing import Any

from marketscope_events import DecodedEvent, SqsConsumer
from marketscope_notifier.alerts.evaluation import AlertEvaluator
from marketscope_notifier.inbox.notices import Notices

NOTICE_EVENTS = ("AnalysisCompleted", "AnalysisFailed", "DocumentIndexed")


class NotifierHandlers:
    def __init__(self, evaluator: AlertEvaluator, notices: Notices) -> None:
        self._evaluator = evaluator
        self._notices = notices

    def register(self, consumer: SqsConsumer) -> None:
        consumer.on("QuoteUpdated", self.on_quote)
        for name in NOTICE_EVENTS:
            consumer.on(name, self._notices.handle)
        consumer.on("NotificationCreated", self._notices.delivered)

    async def on_quote(self, event: DecodedEvent[Any]) -> None:
        quote = event.data
        await self._evaluator.on_quote(quote.symbol, float(quote.price), quote.as_of)
