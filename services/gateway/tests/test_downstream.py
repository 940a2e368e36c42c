"""The gateway's calls to the services: a pooled connection the service closed, values
that go into downstream paths and headers, relayed problems, deep JSON bodies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from marketscope_gateway.downstream import MarketDataClient, RagClient
from marketscope_gateway.errors import DownstreamUnavailable
from marketscope_servicekit import Identity
from marketscope_servicekit.calls import segment
from marketscope_servicekit.internal_key import InternalKeySettings

from .conftest import MakeGateway
from .fakes import FakeMarketData, FakeRag

OK_BODY = b'{"owner": "u1", "symbols": [], "updated_at": null}'


class DroppingService:
    """A loopback HTTP/1.1 server whose first connection answers one request and then
    closes on the next one without answering, as a service does that dropped an idle
    kept-alive connection just as the gateway reused it; later connections answer all."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        first_connection = self.connections == 1
        answered = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = _content_length(head)
                if length:
                    await reader.readexactly(length)
                self.requests.append(head.split(b"\r\n", 1)[0])
                if first_connection and answered == 1:
                    return  # dropped, no answer
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(OK_BODY), OK_BODY)
                )
                await writer.drain()
                answered += 1
        except asyncio.IncompleteReadError:
            return
        finally:
            writer.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


@asynccontextmanager
async def dropping_service() -> AsyncIterator[tuple[DroppingService, MarketDataClient]]:
    service = DroppingService()
    server = await asyncio.start_server(service.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        yield service, MarketDataClient(http, "k" * 48)
    server.close()


async def test_an_idempotent_call_on_a_dropped_pooled_connection_is_sent_again() -> None:
    async with dropping_service() as (service, client):
        first = await client.watchlist(Identity("u1"))
        second = await client.watchlist(Identity("u1"))  # the pool hands out the dead one
        saved = await client.save_watchlist(Identity("u1"), {"symbols": ["AAPL"]})
    assert (first.status_code, second.status_code, saved.status_code) == (200, 200, 200)
    assert service.connections == 2
    assert service.requests == [b"GET /watchlists/u1 HTTP/1.1"] * 3 + [
        b"PUT /watchlists/u1 HTTP/1.1"
    ]


async def test_a_post_on_a_dropped_connection_is_not_sent_twice() -> None:
    async with dropping_service() as (service, client):
        http = client.http
        rag = RagClient(http, "k" * 48)
        await rag.documents(Identity("u1"))
        with pytest.raises(DownstreamUnavailable):
            await rag.search(Identity("u1"), {"query": "margins"})
    assert service.requests == [b"GET /documents HTTP/1.1", b"POST /search HTTP/1.1"]


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("../quotes/AAPL", "..%2Fquotes%2FAAPL"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("a?b#c%d", "a%3Fb%23c%25d"),
        ("line\r\nbreak", "line%0D%0Abreak"),
        ("zoë", "zo%C3%AB"),
    ],
)
def test_a_path_value_is_one_segment(value: str, encoded: str) -> None:
    assert segment(value) == encoded


async def recorded(identity: Identity, symbol: str = "AAPL") -> list[httpx.Request]:
    requests: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(handle), base_url="http://md"
    ) as http:
        market = MarketDataClient(http, "k" * 48)
        await market.watchlist(identity)
        await market.save_watchlist(identity, {"symbols": []})
        await market.quote(identity, symbol)
        await RagClient(http, "k" * 48).document(identity, "../../watchlists/u2")
    return requests


async def test_identity_and_client_values_never_name_another_route() -> None:
    requests = await recorded(Identity("../quotes/AAPL"), symbol="../watchlists/u2")
    assert [request.url.raw_path for request in requests] == [
        b"/watchlists/..%2Fquotes%2FAAPL",
        b"/watchlists/..%2Fquotes%2FAAPL",
        b"/quotes/..%2Fwatchlists%2Fu2",
        b"/documents/..%2F..%2Fwatchlists%2Fu2",
    ]


@pytest.mark.parametrize("user_id", ["line\r\nbreak", "zoë", "..", "a%2Fb"])
async def test_any_user_id_reaches_its_own_watchlist(user_id: str) -> None:
    fake = FakeMarketData()
    transport = httpx.ASGITransport(app=fake.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://md") as http:
        market = MarketDataClient(http, InternalKeySettings().internal_key)
        response = await market.watchlist(Identity(user_id))
    assert response.status_code == 200, response.text
    assert response.json()["owner"] == user_id  # the fake checks it is the caller's


async def test_a_user_id_with_a_slash_reaches_no_other_route() -> None:
    # The service routes on the decoded path: ``/watchlists/../quotes/AAPL`` is no
    # watchlist route (one segment each) and, resolved by nobody, no quote route either.
    fake = FakeMarketData()
    transport = httpx.ASGITransport(app=fake.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://md") as http:
        market = MarketDataClient(http, InternalKeySettings().internal_key)
        response = await market.watchlist(Identity("../quotes/AAPL"))
    assert response.status_code == 404
    assert fake.callers == []  # the quote route never ran


@pytest.mark.integration
async def test_a_relayed_problem_names_the_gateway_path(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        _, auth, _ = await gw.user()
        unknown = await gw.client.get("/api/v1/quotes/NOPE", headers=auth)
        missing = await gw.client.get("/api/v1/documents/d404", headers=auth)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["instance"] == "/api/v1/quotes/NOPE"
    assert unknown.json()["detail"] == "Unknown symbol NOPE."
    assert int(unknown.headers["content-length"]) == len(unknown.content)
    assert missing.status_code == 404
    assert "instance" not in missing.json()  # the fake names none: none is made up


@pytest.mark.integration
async def test_a_json_body_nested_1200_levels_is_422_not_500(make_gateway: MakeGateway) -> None:
    body = b'{"query": ' + b"[" * 1199 + b"]" * 1199 + b"}"
    async with make_gateway() as gw:
        _, auth, _ = await gw.user()
        headers = {**auth, "content-type": "application/json"}
        response = await gw.client.post("/api/v1/search", content=body, headers=headers)
        after = await gw.client.get("/api/v1/quotes/AAPL", headers=auth)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:marketscope:problem:invalid-request"
    assert after.status_code == 200


@pytest.mark.integration
async def test_uploads_reach_rag_signed_for_their_bytes(make_gateway: MakeGateway) -> None:
    rag = FakeRag()
    data = b"# Margins\n\n" + b"gross margin " * 200_000  # 2.6 MB: spooled to disk
    async with make_gateway(rag=rag) as gw:
        _, auth, _ = await gw.user()
        response = await gw.client.post(
            "/api/v1/documents", files={"file": ("m.md", data, "text/markdown")}, headers=auth
        )
    assert response.status_code == 202, response.text
    [document] = rag.documents.values()
    assert document["size_bytes"] == len(data)
