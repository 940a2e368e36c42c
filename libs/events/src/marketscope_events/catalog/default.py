"""MarketScope's event catalog: the single source of truth for topics and subscriptions."""

from __future__ import annotations

from marketscope_events.catalog import events
from marketscope_events.catalog.fields import EventData
from marketscope_events.catalog.registry import Catalog, EventSpec
from marketscope_events.catalog.upcasting import default_upcasters


def _spec(
    producer: str,
    subscribers: set[str],
    description: str,
    *models: type[EventData],
    published: bool = True,
) -> EventSpec:
    return EventSpec(
        name=models[0].event_name,
        producer=producer,
        subscribers=frozenset(subscribers),
        models={model.event_version: model for model in models},
        description=description,
        published=published,
    )


def _stream_only(producer: str, description: str, *models: type[EventData]) -> EventSpec:
    """An event its producer keeps in its own stream and never publishes."""
    return _spec(producer, set(), description, *models, published=False)


CATALOG = Catalog.of(
    [
        _spec(
            "market-data",
            {"gateway", "notifier"},
            "A new price was observed for a symbol.",
            events.QuoteUpdatedV1,
            events.QuoteUpdatedV2,
        ),
        _spec(
            "rag", {"rag"}, "A document was stored and awaits indexing.", events.DocumentUploaded
        ),
        _spec(
            "rag",
            {"gateway", "notifier"},
            "A document version is indexed and searchable.",
            events.DocumentIndexed,
        ),
        _spec("rag", set(), "A document and its chunks were removed.", events.DocumentDeleted),
        _stream_only(
            "rag",
            "Indexing of a document version began. Kept in rag's stream, never published.",
            events.DocumentIndexingStarted,
        ),
        _stream_only(
            "rag",
            "Indexing of a document version failed. Kept in rag's stream, never published.",
            events.DocumentIndexingFailed,
        ),
        _stream_only(
            "chat",
            "A conversation with the analyst began. Kept in chat's stream, never published.",
            events.ConversationStarted,
        ),
        _stream_only(
            "chat",
            "The user asked something. Kept in chat's stream, never published.",
            events.UserMessagePosted,
        ),
        _stream_only(
            "chat",
            "A tool call of an answer and its result. Kept in chat's stream, never published.",
            events.ToolCallRecorded,
        ),
        _stream_only(
            "chat",
            "An answer of the analyst. Kept in chat's stream, never published.",
            events.AssistantMessageCompleted,
        ),
        _stream_only(
            "chat",
            "A conversation was deleted. Kept in chat's stream, never published.",
            events.ConversationDeleted,
        ),
        _spec("chat", {"chat"}, "An analysis job was requested.", events.AnalysisRequested),
        _stream_only(
            "chat",
            "A worker began an analysis job. Kept in chat's stream, never published.",
            events.AnalysisStarted,
        ),
        _spec(
            "chat",
            {"gateway"},
            "How far a running analysis job is (stage, percent, message).",
            events.AnalysisProgressed,
        ),
        _spec(
            "chat",
            {"gateway", "notifier"},
            "An analysis job finished with a report.",
            events.AnalysisCompleted,
        ),
        _spec("chat", {"gateway", "notifier"}, "An analysis job gave up.", events.AnalysisFailed),
        _stream_only(
            "chat",
            "The owner cancelled an analysis. Kept in chat's stream, never published.",
            events.AnalysisCancelled,
        ),
        _spec(
            "notifier",
            set(),
            "A price alert fired (for integrators; the notifier's own notification of it is "
            "NotificationCreated).",
            events.AlertTriggeredV1,
            events.AlertTriggeredV2,
        ),
        *(
            _stream_only("notifier", f"{description} Kept in the notifier's stream.", model)
            for description, model in (
                ("A user set a price alert.", events.AlertCreated),
                ("The owner changed an alert.", events.AlertUpdated),
                ("The owner paused an alert.", events.AlertPaused),
                ("The owner resumed an alert.", events.AlertResumed),
                ("A price changed what an alert remembers.", events.AlertObserved),
                ("An alert may fire again.", events.AlertRearmed),
                ("An alert passed its expiry.", events.AlertExpired),
                ("The owner deleted an alert.", events.AlertDeleted),
            )
        ),
        _spec(
            "notifier",
            {"gateway", "notifier"},
            "A notification was put in a user's inbox (the gateway pushes it to the owner's "
            "sockets; the notifier delivers it to the owner's channels).",
            events.NotificationCreated,
        ),
    ],
    default_upcasters(),
)
