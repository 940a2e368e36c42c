from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI, HTTPException

from marketscope_servicekit.metrics import MetricsRecorder
from marketscope_servicekit.request_metrics import install_request_metrics


async def test_latency_by_route_template_and_status_and_errors() -> None:
    app = FastAPI()
    metrics = MetricsRecorder("test")
    install_request_metrics(app, metrics)

    @app.get("/quotes/{symbol}")
    async def quote(symbol: str) -> dict[str, str]:
        if symbol == "BOOM":
            raise HTTPException(status_code=503)
        return {"symbol": symbol}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/quotes/AAPL")).status_code == 200
        assert (await client.get("/quotes/MSFT")).status_code == 200
        assert (await client.get("/quotes/BOOM")).status_code == 503
        assert (await client.get("/nowhere")).status_code == 404

    series = {
        (d["MetricName"], tuple(sorted((x["Name"], x["Value"]) for x in d["Dimensions"]))): d
        for d in metrics.pending()
    }
    ok = series[
        ("APILatency", (("Route", "/quotes/{symbol}"), ("Service", "test"), ("Status", "200")))
    ]
    assert sum(ok["Counts"]) == 2
    assert (
        "APILatency",
        (("Route", "unmatched"), ("Service", "test"), ("Status", "404")),
    ) in series
    errors = series[("Errors", (("Route", "/quotes/{symbol}"), ("Service", "test")))]
    assert sum(v * c for v, c in zip(errors["Values"], errors["Counts"], strict=True)) == 1
    assert sum(series[("APILatency", (("Service", "test"),))]["Counts"]) == 4


async def test_routes_of_an_included_router_are_named_by_their_template() -> None:
    app = FastAPI()
    metrics = MetricsRecorder("test")
    install_request_metrics(app, metrics)
    router = APIRouter(prefix="/api/v1")

    @router.get("/documents/{document_id}")
    async def document(document_id: str) -> dict[str, str]:
        return {"id": document_id}

    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for document_id in ("a1", "b2", "c3"):
            assert (await client.get(f"/api/v1/documents/{document_id}")).status_code == 200
        assert (await client.get("/api/v1/nowhere")).status_code == 404

    routes = {
        dict((x["Name"], x["Value"]) for x in d["Dimensions"]).get("Route")
        for d in metrics.pending()
        if d["MetricName"] == "APILatency"
    }
    # One series for the three documents, not one per id.
    assert routes == {None, "/api/v1/documents/{document_id}", "unmatched"}
