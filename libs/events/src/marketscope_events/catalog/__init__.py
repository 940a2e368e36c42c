"""The event catalog: payload models, their specs and upcasters."""

from marketscope_events.catalog.default import CATALOG
from marketscope_events.catalog.events import (
    AlertTriggered,
    AlertTriggeredV1,
    AlertTriggeredV2,
    AnalysisCancelled,
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisProgressed,
    AnalysisRequested,
    AnalysisStarted,
    DocumentDeleted,
    DocumentIndexed,
    DocumentIndexingFailed,
    DocumentIndexingStarted,
    DocumentUploaded,
    NotificationCreated,
    QuoteUpdatedV1,
    QuoteUpdatedV2,
)
from marketscope_events.catalog.fields import EventData
from marketscope_events.catalog.registry import (
    Catalog,
    DecodedEvent,
    EventSpec,
    dlq_name,
    queue_name,
    table_name,
)
from marketscope_events.catalog.upcasting import UpcasterChain

QuoteUpdated = QuoteUpdatedV2

__all__ = [
    "CATALOG",
    "AlertTriggered",
    "AlertTriggeredV1",
    "AlertTriggeredV2",
    "AnalysisCancelled",
    "AnalysisCompleted",
    "AnalysisFailed",
    "AnalysisProgressed",
    "AnalysisRequested",
    "AnalysisStarted",
    "Catalog",
    "DecodedEvent",
    "DocumentDeleted",
    "DocumentIndexed",
    "DocumentIndexingFailed",
    "DocumentIndexingStarted",
    "DocumentUploaded",
    "EventData",
    "EventSpec",
    "NotificationCreated",
    "QuoteUpdated",
    "QuoteUpdatedV1",
    "QuoteUpdatedV2",
    "UpcasterChain",
    "dlq_name",
    "queue_name",
    "table_name",
]
