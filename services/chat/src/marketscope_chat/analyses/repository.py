"""Analyses in the chat table: ``Analysis#<id>`` streams, and one ``Analyses#<owner>``
item per analysis for the owner's list (status, symbols, summary), rewritten when the
status changes.

AnalysisRequested, AnalysisProgressed, AnalysisCompleted and AnalysisFailed go out
through the outbox (the request to the chat service's own queue, the rest to the
gateway and the notifier); AnalysisStarted and AnalysisCancelled stay in the stream.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from marketscope_chat.analyses.state import AnalysisState, Status, fold, stream_id
from marketscope_chat.errors import AnalysisConflict
from marketscope_chat.store import storage_errors
from marketscope_events import CATALOG, ConcurrencyError, Envelope, EventStore, StreamRepository
from marketscope_events.streams.repository import Loaded
from marketscope_servicekit.owned_index import Item, OwnedIndex, created_at_of, expires_at_of

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

PUBLISHED = frozenset(CATALOG.specs)


@dataclass(frozen=True, slots=True)
class AnalysisSummary:
    id: str
    kind: str
    symbols: list[str]
    status: Status
    title: str
    summary: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AnalysisPage:
    items: list[AnalysisSummary]
    next_cursor: str | None


def title_of(state: AnalysisState) -> str:
    symbols = ", ".join(state.request.symbols)
    return f"{'Portfolio' if state.request.kind == 'portfolio' else 'Stock'} analysis: {symbols}"


def _summary(item: Item) -> AnalysisSummary:
    summary = item.get("summary", {}).get("S")
    return AnalysisSummary(
        id=item["analysis_id"]["S"],
        kind=item["kind"]["S"],
        symbols=json.loads(item["symbols"]["S"]),
        status=item["status"]["S"],  # type: ignore[arg-type]  # written from a Status
        title=item["title"]["S"],
        summary=summary,
        created_at=created_at_of(item),
        updated_at=datetime.fromisoformat(item["updated_at"]["S"]),
        expires_at=expires_at_of(item),
    )


class AnalysisRepository:
    def __init__(self, store: EventStore, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._streams = StreamRepository[AnalysisState](store, fold, catalog=CATALOG)
        self._index = OwnedIndex(dynamodb, table_name, "Analyses")

    async def load(
        self, analysis_id: str, *, known: Loaded[AnalysisState] | None = None
    ) -> Loaded[AnalysisState] | None:
        """The folded state and its version, or None (never requested or expired)."""
        with storage_errors():
            return await self._streams.load(stream_id(analysis_id), known=known)

    async def append(
        self,
        loaded: Loaded[AnalysisState] | None,
        analysis_id: str,
        events: Sequence[Envelope],
        *,
        expires_at: datetime,
    ) -> Loaded[AnalysisState]:
        """Append after ``loaded`` (`AnalysisConflict` when the stream moved on), through
        the outbox when the events are published ones; the owner's list item follows
        a change of status."""
        names = {CATALOG.decode(envelope).envelope.event_type.name for envelope in events}
        publish = bool(names & PUBLISHED)
        if publish and not names <= PUBLISHED:
            raise ValueError(f"one append publishes all its events or none: {sorted(names)}")
        version = 0 if loaded is None else loaded.version
        try:
            with storage_errors():
                stored = await self._streams.append(
                    stream_id(analysis_id),
                    events,
                    expected_version=version,
                    publish=publish,
                    expires_at=expires_at,
                )
        except ConcurrencyError as exc:
            raise AnalysisConflict(analysis_id) from exc
        state = None if loaded is None else loaded.state
        for envelope in stored:
            state = fold(state, CATALOG.decode(envelope))
        assert state is not None
        if loaded is None or loaded.state.status != state.status:
            await self._write_view(state, version + len(stored), expires_at)
        return Loaded(state, version + len(stored))

    async def _write_view(self, state: AnalysisState, version: int, expires_at: datetime) -> None:
        attributes: Item = {
            "analysis_id": {"S": state.id},
            "kind": {"S": state.request.kind},
            "symbols": {"S": json.dumps(state.request.symbols)},
            "status": {"S": state.status},
            "title": {"S": title_of(state)},
            "updated_at": {"S": state.updated_at.isoformat()},
        }
        if state.completed is not None:
            attributes["summary"] = {"S": state.completed.summary}
        await self._index.put(
            state.owner,
            state.request.requested_at,
            attributes,
            version=version,
            expires_at=expires_at,
        )

    async def list_owned(self, owner: str, *, limit: int, cursor: str | None) -> AnalysisPage:
        """The owner's analyses, newest first, ``limit`` a page."""
        page = await self._index.page(owner, limit=limit, cursor=cursor)
        return AnalysisPage([_summary(item) for item in page.items], page.next_cursor)
