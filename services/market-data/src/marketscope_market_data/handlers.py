"""The market-data queue's consumer: the refresh rule's Scheduled Event (EventBridge's own
JSON, not a CloudEvent, so a raw-message route) refreshes every watched quote.

A Scheduled Event of another rule is terminal (the DLQ, with the reason); so is anything
else, which no route matches. A refresh that refreshed nothing at all because the
providers failed is transient: the event comes back after a backoff.

Provider failures and unknown symbols are counted apart: ``ScheduledRefreshFailures``
(alarmed: the operator is paged) says a provider failed; a symbol the providers have no
data for (a watchlist's typo, a replayed symbol before its first trading day) goes to
``ScheduledRefreshUnknownSymbols``, which no user can turn into a page.
"""

from __future__ import annotations

import logging

from marketscope_events import (
    RawMessage,
    RawRoute,
    SqsConsumer,
    TerminalHandlerError,
    TransientHandlerError,
)
from marketscope_market_data.refresh.events import (
    RejectedMessage,
    is_scheduled_event,
    scheduled_event_of,
)
from marketscope_market_data.schemas import RefreshSummary
from marketscope_market_data.service import MarketDataService
from marketscope_servicekit import MetricsRecorder

logger = logging.getLogger(__name__)
SCHEDULED_REFRESH_ROUTE = "scheduled-refresh"


def _event_id(message: RawMessage) -> str:
    # A route only gets Scheduled Events (dicts): EventBridge gives each firing its own id.
    return str(message.body.get("id", ""))


class RefreshHandlers:
    def __init__(
        self, service: MarketDataService, metrics: MetricsRecorder, *, rule_name: str
    ) -> None:
        self._service = service
        self._metrics = metrics
        self._rule_name = rule_name

    def register(self, consumer: SqsConsumer) -> None:
        consumer.route_raw(
            RawRoute(
                name=SCHEDULED_REFRESH_ROUTE,
                matches=lambda message: is_scheduled_event(message.body),
                handler=self.on_scheduled_event,
                idempotency_key=_event_id,
            )
        )

    async def on_scheduled_event(self, message: RawMessage) -> None:
        try:
            scheduled_event_of(message.body, self._rule_name)
        except RejectedMessage as exc:
            raise TerminalHandlerError(str(exc)) from exc
        summary = await self.scheduled_refresh()
        if providers_failed_everything(summary):
            reasons = "; ".join(f"{f.symbol}: {f.detail}" for f in summary.failed)
            raise TransientHandlerError(f"no quote could be refreshed ({reasons})")

    async def scheduled_refresh(self) -> RefreshSummary:
        """The refresh a Scheduled Event asks for, counted in ``ScheduledRefreshFailures``
        (alarmed) when a provider failed for any symbol, and its unknown symbols in
        ``ScheduledRefreshUnknownSymbols``."""
        summary = await self.refresh_watched("scheduled")
        self._metrics.increment("ScheduledRefreshFailures", 1 if summary.failed else 0)
        self._metrics.increment("ScheduledRefreshUnknownSymbols", len(summary.unknown))
        return summary

    async def refresh_watched(self, trigger: str) -> RefreshSummary:
        """Refresh the default and every owner's watchlist; the changed quotes are
        appended to their streams, which hand them to the outbox relay."""
        symbols = await self._service.refresh_targets()
        summary = await self._service.refresh(symbols)
        self._metrics.increment("StockUpdates", summary.changed)
        logger.info(
            "quote refresh done",
            extra={"trigger": trigger, **summary.model_dump(mode="json")},
        )
        return summary


def providers_failed_everything(summary: RefreshSummary) -> bool:
    """No symbol was refreshed and the providers failed: worth retrying later. (Nothing
    refreshed because every symbol is unknown would fail the same way again.)"""
    return bool(summary.failed) and not summary.refreshed
