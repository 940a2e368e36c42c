"""Gateway test fixtures: the provisioned emulator, fake downstream services (for tests
about the gateway's own behaviour) and a running gateway with its lifespan.

The fakes verify the gateway-signed identity exactly as the real services do
(``current_identity``), so a test passes only if the gateway signs its calls.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, File, Request, UploadFile
from fastapi.responses import JSONResponse

from marketscope_gateway.main import create_app
from marketscope_gateway.settings import Settings
from marketscope_infra.appliers.context import Clients
from marketscope_infra.apply import apply, load_spec
from marketscope_platform.aws import AwsSettings
from marketscope_servicekit import Identity, current_identity
from marketscope_servicekit.problems import install_problem_handlers

SIGNING_KEY = "test-signing-key-" + "x" * 32
PASSWORD = "correct horse battery"
Caller = Annotated[Identity, Depends(current_identity)]


@pytest.fixture(scope="session")
def provisioned(aws_endpoint: str) -> str:
    """Every resource of the spec (tables, topics, DLQs, the secret) on the emulator."""
    apply(load_spec(), Clients(aws_endpoint, "us-east-1"))
    return aws_endpoint


def quote_body(symbol: str, price: float = 187.25) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "price": price,
        "previous_close": 185.1,
        "change": 2.15,
        "change_percent": 1.1615,
        "currency": "USD",
        "as_of": "2013-06-03T20:00:00Z",
        "source": "replay",
        "stale": False,
    }


@dataclass
class FakeMarketData:
    """market-data's paths, answering canned data; ``failing`` paths answer 500 and
    ``slow`` ones take ``delay`` seconds."""

    failing: set[str] = field(default_factory=set)
    slow: set[str] = field(default_factory=set)
    delay: float = 5.0
    callers: list[Identity] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()
        app.state.internal_key = "marketscope-development-internal-key"
        install_problem_handlers(app)

        @app.middleware("http")
        async def behave(request: Request, call_next: Any) -> Any:
            kind = request.url.path.split("/")[1]
            if kind in self.slow:
                await asyncio.sleep(self.delay)
            if kind in self.failing:
                return JSONResponse({"detail": "internal trace here"}, status_code=500)
            return await call_next(request)

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/quotes/{symbol}")
        async def quote(symbol: str, caller: Caller) -> dict[str, Any]:
            self.callers.append(caller)
            if symbol == "NOPE":
                from marketscope_servicekit import ServiceError

                class NotFound(ServiceError):
                    status = 404

                raise NotFound(f"Unknown symbol {symbol}.")
            return quote_body(symbol)

        @app.get("/quotes")
        async def quotes(symbols: str, caller: Caller) -> dict[str, Any]:
            return {"quotes": [quote_body(s) for s in symbols.split(",")], "errors": []}

        @app.get("/history/{symbol}")
        async def history(symbol: str, caller: Caller, request: Request) -> dict[str, Any]:
            bar = {"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "adj_close": 1.5}
            return {
                "symbol": symbol,
                "interval": request.query_params.get("interval", "1d"),
                "bars": [{"date": "2013-06-03", **bar, "volume": 100}],
                "source": "replay",
                "start": "2012-12-03",
                "end": "2013-06-03",
                "stale": False,
                "query": dict(request.query_params),
            }

        @app.get("/indicators/{symbol}")
        async def indicators(symbol: str, caller: Caller) -> dict[str, Any]:
            return {
                "symbol": symbol,
                "as_of": "2013-06-03",
                "close": 1.5,
                "bars_used": 200,
                "names": ["sma"],
                "indicators": {"sma_20": 1.4},
                "source": "replay",
                "stale": False,
            }

        @app.get("/watchlists/{owner}")
        async def watchlist(owner: str, caller: Caller) -> dict[str, Any]:
            assert owner == caller.user_id
            return {"owner": owner, "symbols": ["AAPL"], "updated_at": None}

        return app


@dataclass
class FakeRag:
    """rag's document paths, scoping documents to the signed caller like rag does."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    failing: bool = False

    def app(self) -> FastAPI:
        app = FastAPI()
        app.state.internal_key = "marketscope-development-internal-key"
        install_problem_handlers(app)

        def own(document_id: str, caller: Identity) -> dict[str, Any]:
            document = self.documents.get(document_id)
            if document is None or document["owner"] != caller.user_id:
                return {}
            return document

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.post("/documents", status_code=202)
        async def upload(file: Annotated[UploadFile, File()], caller: Caller) -> JSONResponse:
            upload = file
            content = await upload.read()
            document_id = uuid.uuid4().hex
            self.documents[document_id] = {
                "document_id": document_id,
                "owner": caller.user_id,
                "filename": upload.filename,
                "size_bytes": len(content),
                "status": "uploaded",
            }
            return JSONResponse(
                {**self.documents[document_id], "status_url": f"/documents/{document_id}"},
                status_code=202,
                headers={"Location": f"/documents/{document_id}"},
            )

        @app.get("/documents")
        async def listing(caller: Caller) -> dict[str, Any]:
            mine = [d for d in self.documents.values() if d["owner"] == caller.user_id]
            return {"documents": mine}

        @app.get("/documents/{document_id}")
        async def get(document_id: str, caller: Caller) -> JSONResponse:
            document = own(document_id, caller)
            if not document:
                return JSONResponse(
                    {"title": "Not Found", "status": 404, "detail": "No such document."},
                    status_code=404,
                    media_type="application/problem+json",
                )
            return JSONResponse(document)

        @app.delete("/documents/{document_id}", status_code=204)
        async def delete(document_id: str, caller: Caller) -> None:
            if own(document_id, caller):
                del self.documents[document_id]

        @app.post("/search")
        async def search(caller: Caller) -> Any:
            if self.failing:
                return JSONResponse({"detail": "boom"}, status_code=500)
            mine = [d for d in self.documents.values() if d["owner"] == caller.user_id]
            hits = [
                {
                    "citation": {
                        "document_id": d["document_id"],
                        "filename": d["filename"],
                        "chunk_index": 0,
                    },
                    "score": 0.5,
                    "snippet": "...",
                }
                for d in mine
            ]
            return {"hits": hits}

        return app


def random_ip() -> str:
    """A client address of its own, so IP-scoped counters never leak between tests."""
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


@dataclass
class RunningGateway:
    app: FastAPI
    client: httpx.AsyncClient
    market_data: FakeMarketData
    rag: FakeRag

    async def register(self, email: str | None = None) -> tuple[str, str]:
        email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
        response = await self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        return email, response.json()["user_id"]

    async def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )

    async def user(self) -> tuple[str, dict[str, str], dict[str, Any]]:
        """A new account, logged in: its email, auth header and token pair."""
        email, _ = await self.register()
        tokens = (await self.login(email)).json()
        return email, {"Authorization": f"Bearer {tokens['access_token']}"}, tokens


MakeGateway = Callable[..., AbstractAsyncContextManager[RunningGateway]]


def gateway_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "jwt_signing_key": SIGNING_KEY,
        "instance_id": f"test-{uuid.uuid4().hex[:10]}",
        "rate_limit_per_user": "10000/minute",
        "rate_limit_per_ip": "10000/minute",
        # Every served gateway sees 127.0.0.1, and the table outlives a test: the
        # per-IP login throttle is tested on its own, with addresses of its own.
        "login_failures_per_ip": 1_000_000,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def make_gateway(provisioned: str, aws_settings: AwsSettings) -> MakeGateway:
    @asynccontextmanager
    async def running(
        *,
        market_data: FakeMarketData | None = None,
        rag: FakeRag | None = None,
        transports: dict[str, httpx.AsyncBaseTransport] | None = None,
        client_ip: str | None = None,
        **overrides: Any,
    ) -> AsyncIterator[RunningGateway]:
        market_data = market_data or FakeMarketData()
        rag = rag or FakeRag()
        downstream: dict[str, httpx.AsyncBaseTransport] = {
            "market-data": httpx.ASGITransport(app=market_data.app()),
            "rag": httpx.ASGITransport(app=rag.app()),
            **(transports or {}),
        }
        app = create_app(gateway_settings(**overrides), aws_settings, transports=downstream)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=(client_ip or random_ip(), 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                yield RunningGateway(app, client, market_data, rag)

    return running


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """``app`` behind a real uvicorn server on a free loopback port (WebSockets need one);
    yields its base URL. The lifespan runs as in production."""
    import uvicorn

    from marketscope_emulator.process import free_port

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def make_served_gateway(provisioned: str, aws_settings: AwsSettings) -> MakeGateway:
    """A gateway behind uvicorn, its instance queue subscribed; yields a RunningGateway
    whose client talks HTTP to it."""

    @asynccontextmanager
    async def running(**overrides: Any) -> AsyncIterator[RunningGateway]:
        market_data, rag = FakeMarketData(), FakeRag()
        downstream: dict[str, httpx.AsyncBaseTransport] = {
            "market-data": httpx.ASGITransport(app=market_data.app()),
            "rag": httpx.ASGITransport(app=rag.app()),
        }
        app = create_app(gateway_settings(**overrides), aws_settings, transports=downstream)
        async with served(app) as url, httpx.AsyncClient(base_url=url) as client:
            await asyncio.wait_for(app.state.live_feed.subscribed.wait(), timeout=30)
            yield RunningGateway(app, client, market_data, rag)

    return running
