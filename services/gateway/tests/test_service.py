"""The stock overview: every part composed, and a part whose service is down, slow or
wrong reported in ``errors`` while the others are still returned."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from marketscope_gateway.downstream import MarketDataClient, RagClient
from marketscope_gateway.service import OverviewComposer
from marketscope_servicekit import Identity

from .conftest import MakeGateway
from .fakes import FakeMarketData, Unreachable, quote_body


@pytest.mark.integration
async def test_overview_composes_all_parts(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        _, auth, _ = await gw.user()
        await gw.client.post(
            "/api/v1/documents",
            files={"file": ("aapl.md", b"# AAPL", "text/markdown")},
            headers=auth,
        )
        response = await gw.client.get("/api/v1/stocks/aapl/overview", headers=auth)
        assert response.status_code == 200
        overview = response.json()
        assert overview["symbol"] == "AAPL"
        assert overview["quote"]["price"] == 187.25
        assert overview["history"]["bars"][0]["close"] == 1.5
        assert overview["indicators"]["indicators"] == {"sma_20": 1.4}
        [document] = overview["documents"]
        assert document["filename"] == "aapl.md"
        assert document["chunk_index"] == 0
        assert set(document) == {"document_id", "filename", "chunk_index", "score", "snippet"}
        assert overview["errors"] == []


@pytest.mark.integration
async def test_overview_with_one_service_down_returns_the_rest(make_gateway: MakeGateway) -> None:
    async with make_gateway(transports={"rag": Unreachable()}) as gw:
        _, auth, _ = await gw.user()
        response = await gw.client.get("/api/v1/stocks/AAPL/overview", headers=auth)
    assert response.status_code == 200
    overview = response.json()
    assert overview["quote"]["symbol"] == "AAPL"
    assert overview["history"] is not None
    assert overview["indicators"] is not None
    assert overview["documents"] is None
    assert overview["errors"] == [
        {"part": "documents", "service": "rag", "status": 503, "detail": "rag is unreachable."}
    ]


@pytest.mark.integration
async def test_overview_parts_time_out_on_their_own(make_gateway: MakeGateway) -> None:
    market_data = FakeMarketData(slow={"indicators"}, failing={"history"}, delay=5.0)
    async with make_gateway(market_data=market_data, overview_part_timeout=0.5) as gw:
        _, auth, _ = await gw.user()
        response = await gw.client.get("/api/v1/stocks/AAPL/overview", headers=auth)
    assert response.status_code == 200
    overview = response.json()
    assert overview["quote"] is not None
    errors = {error["part"]: error for error in overview["errors"]}
    assert errors["indicators"]["status"] == 504
    assert errors["history"]["status"] == 502
    assert overview["indicators"] is None


def composer(market_data: httpx.MockTransport, rag: httpx.MockTransport) -> OverviewComposer:
    return OverviewComposer(
        MarketDataClient(httpx.AsyncClient(transport=market_data, base_url="http://md"), "key"),
        RagClient(httpx.AsyncClient(transport=rag, base_url="http://rag"), "key"),
        part_timeout=1.0,
    )


def answering(route: dict[str, tuple[int, Any]]) -> httpx.MockTransport:
    """A service answering each path's first segment with (status, body)."""

    def handle(request: httpx.Request) -> httpx.Response:
        status, body = route[request.url.path.split("/")[1]]
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle)


async def test_a_service_status_and_an_unexpected_answer_are_their_parts_errors() -> None:
    market_data = answering(
        {
            "quotes": (200, quote_body("AAPL")),
            "history": (404, {"title": "Not Found", "detail": "No history for AAPL."}),
            "indicators": (200, {"as_of": "2013-06-03"}),  # fields missing
        }
    )
    rag = answering({"search": (200, {"hits": []})})
    overview = await composer(market_data, rag).compose(Identity("alice"), "AAPL")
    assert overview.quote is not None
    assert overview.quote.price == 187.25
    assert overview.documents == []
    errors = {error.part: error for error in overview.errors}
    assert set(errors) == {"history", "indicators"}
    assert (errors["history"].status, errors["history"].detail) == (404, "No history for AAPL.")
    assert errors["indicators"].status == 502
    assert errors["indicators"].detail == "market-data answered unexpectedly."
