"""``GET /api/v1/stocks/{symbol}/overview``: quote, six months of daily history,
indicators and related documents, fetched concurrently, each bounded by its own timeout.

A part that fails (service down, timed out, 404, bad answer) is reported in ``errors``
and the other parts are still returned: a partial overview beats a 500.

The ``_Read`` models list exactly the fields the gateway reads from each service (``READS``
says where from); the consumer-driven contract test checks them against the services'
OpenAPI snapshots.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from marketscope_gateway.downstream import MarketDataClient, RagClient
from marketscope_gateway.downstream.client import DownstreamStatus
from marketscope_gateway.errors import DownstreamError, DownstreamTimeout
from marketscope_servicekit import Identity

Part = Literal["quote", "history", "indicators", "documents"]
HISTORY_PERIOD = "6mo"
HISTORY_INTERVAL = "1d"
RELATED_DOCUMENTS = 5


class _Read(BaseModel):
    # Fields a service adds later are ignored; a field it drops fails the part.
    model_config = ConfigDict(extra="ignore")


class OverviewQuote(_Read):
    symbol: str
    price: float
    change: float | None
    change_percent: float | None
    currency: str = "USD"  # market-data may omit it (its default)
    as_of: datetime
    source: str
    stale: bool


class OverviewBar(_Read):
    date: date
    open: float
    high: float
    low: float
    close: float
    volume: int


class OverviewHistory(_Read):
    interval: str
    start: date
    end: date
    bars: list[OverviewBar]
    source: str
    stale: bool


class OverviewIndicators(_Read):
    as_of: date
    close: float
    indicators: dict[str, Any]
    source: str
    stale: bool


class CitationRead(_Read):
    document_id: str
    filename: str
    chunk_index: int


class SearchHitRead(_Read):
    citation: CitationRead
    score: float
    snippet: str


class SearchHits(_Read):
    hits: list[SearchHitRead]


class RelatedDocument(BaseModel):
    document_id: str
    filename: str
    chunk_index: int
    score: float
    snippet: str

    @classmethod
    def of(cls, hit: SearchHitRead) -> RelatedDocument:
        citation = hit.citation
        return cls(
            document_id=citation.document_id,
            filename=citation.filename,
            chunk_index=citation.chunk_index,
            score=hit.score,
            snippet=hit.snippet,
        )


class PartError(BaseModel):
    part: Part
    service: str
    status: int
    detail: str


class StockOverview(BaseModel):
    symbol: str
    quote: OverviewQuote | None
    history: OverviewHistory | None
    indicators: OverviewIndicators | None
    documents: list[RelatedDocument] | None
    errors: list[PartError]


T = TypeVar("T", bound=BaseModel)
Call = Callable[[], Awaitable[Any]]


class OverviewComposer:
    def __init__(
        self, market_data: MarketDataClient, rag: RagClient, *, part_timeout: float
    ) -> None:
        self._market_data = market_data
        self._rag = rag
        self._timeout = part_timeout

    async def compose(self, identity: Identity, symbol: str) -> StockOverview:
        def market(path: str, params: dict[str, str] | None = None) -> Call:
            return lambda: self._market_data.fetch(
                "GET", path, identity, params=params, time_limit=self._timeout
            )

        def related() -> Awaitable[Any]:
            body = {"query": f"{symbol} stock analysis", "k": RELATED_DOCUMENTS}
            return self._rag.fetch("POST", "/search", identity, json=body, time_limit=self._timeout)

        history_params = {"period": HISTORY_PERIOD, "interval": HISTORY_INTERVAL}
        md = self._market_data.service
        quote, history, indicators, hits = await asyncio.gather(
            self._part("quote", md, OverviewQuote, market(f"/quotes/{symbol}")),
            self._part(
                "history", md, OverviewHistory, market(f"/history/{symbol}", history_params)
            ),
            self._part("indicators", md, OverviewIndicators, market(f"/indicators/{symbol}")),
            self._part("documents", self._rag.service, SearchHits, related),
        )
        errors = [part[1] for part in (quote, history, indicators, hits) if part[1] is not None]
        return StockOverview(
            symbol=symbol,
            quote=quote[0],
            history=history[0],
            indicators=indicators[0],
            documents=None if hits[0] is None else [RelatedDocument.of(h) for h in hits[0].hits],
            errors=errors,
        )

    async def _part(
        self, part: Part, service: str, model: type[T], call: Call
    ) -> tuple[T | None, PartError | None]:
        try:
            # httpx's timeout bounds each network phase; this bounds the whole call.
            async with asyncio.timeout(self._timeout):
                body = await call()
            return model.model_validate(body), None
        except TimeoutError:
            error = DownstreamTimeout(service, f"{service} did not answer in time.")
            return None, _part_error(part, error)
        except DownstreamStatus as exc:
            return None, PartError(
                part=part, service=service, status=exc.upstream_status, detail=exc.detail or ""
            )
        except DownstreamError as exc:
            return None, _part_error(part, exc)
        except ValidationError:
            return None, PartError(
                part=part, service=service, status=502, detail=f"{service} answered unexpectedly."
            )


def _part_error(part: Part, exc: DownstreamError) -> PartError:
    return PartError(part=part, service=exc.service, status=exc.status, detail=exc.detail or "")


# Which answer each read model is read from: (service, method, path template, status).
READS: dict[type[_Read], tuple[str, str, str, str]] = {
    OverviewQuote: ("market-data", "get", "/quotes/{symbol}", "200"),
    OverviewHistory: ("market-data", "get", "/history/{symbol}", "200"),
    OverviewIndicators: ("market-data", "get", "/indicators/{symbol}", "200"),
    SearchHits: ("rag", "post", "/search", "200"),
}
