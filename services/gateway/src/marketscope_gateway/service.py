"""The stock overview: quote, six months of daily history, indicators and related
documents, fetched concurrently, each bounded by its own timeout.

A part that fails (service down, timed out, 404, bad answer) is reported in ``errors``
and the other parts are still returned: a partial overview beats a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from marketscope_gateway.downstream import MarketDataClient, RagClient
from marketscope_gateway.errors import DownstreamError, DownstreamStatus, DownstreamTimeout
from marketscope_gateway.schemas import (
    OverviewHistory,
    OverviewIndicators,
    OverviewQuote,
    Part,
    PartError,
    RelatedDocument,
    SearchHits,
    StockOverview,
)
from marketscope_servicekit import Identity

HISTORY_PERIOD = "6mo"
HISTORY_INTERVAL = "1d"
RELATED_DOCUMENTS = 5

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
