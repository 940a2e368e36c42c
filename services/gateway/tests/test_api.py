"""The HTTP routes: identity passed on to the services, their answers relayed and their
failures mapped, document ownership, and what a request before start-up gets."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from marketscope_gateway.main import create_app
from marketscope_servicekit.identity import SIGNATURE_HEADER, USER_HEADER

from .conftest import MakeGateway, gateway_settings
from .fakes import FakeMarketData, FakeRag, Unreachable


@pytest.mark.integration
async def test_calls_carry_the_callers_signed_identity(make_gateway: MakeGateway) -> None:
    market_data = FakeMarketData()
    async with make_gateway(market_data=market_data) as gw:
        _, auth, tokens = await gw.user()
        response = await gw.client.get("/api/v1/quotes/aapl", headers=auth)
        assert response.status_code == 200
        assert response.json()["symbol"] == "AAPL"  # upper-cased on the way
        assert market_data.callers[-1].user_id == tokens["user"]["user_id"]
        assert market_data.callers[-1].roles == frozenset({"user"})
        watchlist = await gw.client.get("/api/v1/watchlist", headers=auth)
        assert watchlist.json()["owner"] == tokens["user"]["user_id"]
        history = await gw.client.get(
            "/api/v1/history/MSFT", params={"interval": "1wk", "start": "2012-01-01"}, headers=auth
        )
        assert history.json()["query"] == {"interval": "1wk", "start": "2012-01-01"}


@pytest.mark.integration
async def test_identity_headers_from_clients_are_not_trusted(make_gateway: MakeGateway) -> None:
    market_data = FakeMarketData()
    async with make_gateway(market_data=market_data) as gw:
        _, auth, tokens = await gw.user()
        spoofed = {**auth, USER_HEADER: "someone-else", SIGNATURE_HEADER: "0" * 64}
        await gw.client.get("/api/v1/quotes/AAPL", headers=spoofed)
        assert market_data.callers[-1].user_id == tokens["user"]["user_id"]


@pytest.mark.integration
async def test_service_answers_are_relayed_and_failures_mapped(make_gateway: MakeGateway) -> None:
    market_data = FakeMarketData(failing={"profile"})
    async with make_gateway(market_data=market_data, transports={"rag": Unreachable()}) as gw:
        _, auth, _ = await gw.user()
        unknown = await gw.client.get("/api/v1/quotes/NOPE", headers=auth)
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
        assert unknown.json()["detail"] == "Unknown symbol NOPE."
        broken = await gw.client.get("/api/v1/profile/AAPL", headers=auth)
        assert broken.status_code == 502
        assert "internal trace" not in broken.text
        assert broken.json()["service"] == "market-data"
        down = await gw.client.post("/api/v1/search", json={"query": "margins"}, headers=auth)
        assert down.status_code == 503
        assert down.headers["Retry-After"] == "5"
        assert down.json()["service"] == "rag"


@pytest.mark.integration
async def test_user_a_cannot_read_user_bs_documents(make_gateway: MakeGateway) -> None:
    rag = FakeRag()
    async with make_gateway(rag=rag) as gw:
        _, auth_a, _ = await gw.user()
        _, auth_b, _ = await gw.user()
        uploaded = await gw.client.post(
            "/api/v1/documents",
            files={"file": ("notes.md", b"# Apple\nMargins are wide.", "text/markdown")},
            headers=auth_a,
        )
        assert uploaded.status_code == 202
        document_id = uploaded.json()["document_id"]
        # rag's own links come back as the gateway's.
        assert uploaded.headers["location"] == f"/api/v1/documents/{document_id}"
        assert uploaded.json()["status_url"] == f"/api/v1/documents/{document_id}"
        assert rag.documents[document_id]["size_bytes"] == len(b"# Apple\nMargins are wide.")

        assert (
            await gw.client.get(f"/api/v1/documents/{document_id}", headers=auth_a)
        ).status_code == 200
        as_b = await gw.client.get(f"/api/v1/documents/{document_id}", headers=auth_b)
        assert as_b.status_code == 404
        assert (await gw.client.get("/api/v1/documents", headers=auth_b)).json() == {
            "documents": []
        }
        await gw.client.delete(f"/api/v1/documents/{document_id}", headers=auth_b)
        assert document_id in rag.documents  # B's delete did nothing
        assert (
            await gw.client.delete(f"/api/v1/documents/{document_id}", headers=auth_a)
        ).status_code == 204
        assert document_id not in rag.documents


@pytest.mark.integration
async def test_uploads_must_be_multipart(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        _, auth, _ = await gw.user()
        response = await gw.client.post("/api/v1/documents", json={"file": "x"}, headers=auth)
        assert response.status_code == 422  # InvalidRequest: 422 in every service
        assert response.headers["content-type"] == "application/problem+json"


def test_a_websocket_before_start_up_is_closed_try_again_later() -> None:
    app = create_app(gateway_settings())
    client = TestClient(app)  # not entered: no lifespan, nothing is built
    with client.websocket_connect("/ws") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    assert closed.value.code == 1013
