"""What the tool tests call: the real market-data and rag apps served on loopback ports
(on the provisioned emulator), and a scripted service that answers what a test tells it
to (a 503 twice, a slow answer) while recording what it was sent."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from marketscope_chat.tools.clients import RetryPolicy, ServiceCaller
from marketscope_market_data.main import create_app as create_market_data
from marketscope_market_data.settings import Settings as MarketDataSettings
from marketscope_platform.aws import AwsSettings
from marketscope_rag.main import create_app as create_rag
from marketscope_rag.settings import Settings as RagSettings
from marketscope_servicekit import Identity
from marketscope_servicekit.identity import IdentityError, request_target, verify_identity
from marketscope_servicekit.testing import GatewaySigner, served

# Short waits between attempts: the tests count attempts, not seconds.
QUICK_RETRY = RetryPolicy(attempts=3, initial_seconds=0.01, max_seconds=0.05, jitter_seconds=0.01)
INDEXED_SECONDS = 60.0


def user() -> str:
    """A fresh user id: the tests share the emulator's tables and bucket."""
    return f"user-{uuid.uuid4().hex[:8]}"


@dataclass
class Services:
    """market-data and rag, served; ``direct`` asks them without the tools (signed as the
    identity a test names) to compare the tools' results with."""

    market_data_url: str
    rag_url: str
    key: str
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def caller(self, name: str, url: str) -> ServiceCaller:
        client = httpx.AsyncClient(base_url=url, timeout=30.0)
        self.clients.append(client)
        return ServiceCaller(name, client, self.key, retry=QUICK_RETRY)

    def market_data(self) -> ServiceCaller:
        return self.caller("market-data", self.market_data_url)

    def rag(self) -> ServiceCaller:
        return self.caller("rag", self.rag_url)

    def direct(self, url: str, identity: Identity) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=url, timeout=30.0, auth=GatewaySigner(self.key, identity))

    async def upload(self, owner: str, filename: str, text: str) -> str:
        """A document of ``owner`` in rag, once indexed: its id."""
        async with self.direct(self.rag_url, Identity(owner)) as client:
            files = {"file": (filename, text.encode(), "text/markdown")}
            accepted = await client.post("/documents", files=files)
            assert accepted.status_code == 202, accepted.text
            document_id: str = accepted.json()["document_id"]
            deadline = time.monotonic() + INDEXED_SECONDS
            while (status := (await client.get(f"/documents/{document_id}")).json())[
                "status"
            ] != "indexed":
                assert status["status"] in {"uploaded", "indexing"}, status
                assert time.monotonic() < deadline, f"{document_id} stayed {status['status']}"
                await asyncio.sleep(0.2)
        return document_id


@asynccontextmanager
async def running_services(
    aws_settings: AwsSettings, index_path: Path, key: str
) -> AsyncIterator[Services]:
    async with AsyncExitStack() as stack:
        market_data = create_market_data(
            MarketDataSettings(embedded_scheduler=False, live_refresh=False), aws_settings
        )
        rag = create_rag(
            RagSettings(index_path=index_path, poll_wait_seconds=1, reconcile_index_at_start=False),
            aws_settings,
        )
        market_data_url = await stack.enter_async_context(served(market_data))
        rag_url = await stack.enter_async_context(served(rag))
        services = Services(market_data_url, rag_url, key)
        try:
            yield services
        finally:
            for client in services.clients:
                await client.aclose()


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = None
    delay: float = 0.0


@dataclass
class Received:
    method: str
    target: str
    identity: Identity | None
    traceparent: str | None
    body: bytes


@dataclass
class Scripted:
    """Answers each path from its script: the next answer while more than one is left,
    then the last one again. Records every request, with the identity it verified."""

    key: str
    scripts: dict[str, list[Answer]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def script(self, path: str, *answers: Answer) -> None:
        self.scripts[path] = list(answers)

    def to(self, path: str) -> list[Received]:
        return [request for request in self.received if request.target.split("?")[0] == path]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST"])
        async def answer(path: str, request: Request) -> Response:
            body = await request.body()
            try:
                identity: Identity | None = verify_identity(
                    self.key,
                    request.headers,
                    method=request.method,
                    path_with_query=request_target(request),
                    body_digest=hashlib.sha256(body).hexdigest(),
                )
            except IdentityError:
                identity = None
            self.received.append(
                Received(
                    request.method,
                    request_target(request),
                    identity,
                    request.headers.get("traceparent"),
                    body,
                )
            )
            script = self.scripts.get(f"/{path}") or [Answer(404, {"detail": "no script"})]
            reply = script.pop(0) if len(script) > 1 else script[0]
            if reply.delay:
                await asyncio.sleep(reply.delay)
            media = "application/problem+json" if reply.status >= 400 else "application/json"
            return JSONResponse(reply.body, status_code=reply.status, media_type=media)

        return app


@asynccontextmanager
async def scripted_service(
    key: str, name: str = "scripted", *, retry: RetryPolicy = QUICK_RETRY
) -> AsyncIterator[tuple[Scripted, ServiceCaller]]:
    """A scripted service served on loopback, and a caller of it."""
    scripted = Scripted(key)
    async with (
        served(scripted.app()) as url,
        httpx.AsyncClient(base_url=url, timeout=30.0) as client,
    ):
        yield scripted, ServiceCaller(name, client, key, retry=retry)
