"""Fakes shared by the gateway's tests: market-data and rag as small ASGI apps, and a
service that cannot be reached.

The fake services verify the gateway-signed identity exactly as the real services do
(``current_identity``), so a test passes only if the gateway signs its calls.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, File, Request, UploadFile
from fastapi.responses import JSONResponse

from marketscope_servicekit import Identity, NotFound, current_identity
from marketscope_servicekit.internal_key import InternalKeySettings
from marketscope_servicekit.problems import install_problem_handlers
from marketscope_servicekit.request_body import install_body_digest

Caller = Annotated[Identity, Depends(current_identity)]


class Unreachable(httpx.AsyncBaseTransport):
    """A service that is down: every connection is refused."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


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
        app.state.internal_key = InternalKeySettings().internal_key  # the gateway's
        install_body_digest(app)  # what current_identity hashes the body with
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

        @app.put("/watchlists/{owner}")
        async def save_watchlist(
            owner: str, body: dict[str, list[str]], caller: Caller
        ) -> dict[str, Any]:
            assert owner == caller.user_id
            return {"owner": owner, "symbols": body["symbols"], "updated_at": None}

        return app


@dataclass
class FakeRag:
    """rag's document paths, scoping documents to the signed caller like rag does."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    failing: bool = False

    def app(self) -> FastAPI:
        app = FastAPI()
        app.state.internal_key = InternalKeySettings().internal_key  # the gateway's
        install_body_digest(app)  # what current_identity hashes the body with
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

        @app.put("/documents/{document_id}", status_code=202)
        async def new_version(
            document_id: str, file: Annotated[UploadFile, File()], caller: Caller
        ) -> JSONResponse:
            document = own(document_id, caller)
            if not document:
                raise NotFound("No such document.")
            document.update(size_bytes=len(await file.read()), status="uploaded")
            return JSONResponse(document, status_code=202)

        @app.get("/documents")
        async def listing(caller: Caller) -> dict[str, Any]:
            mine = [d for d in self.documents.values() if d["owner"] == caller.user_id]
            return {"documents": mine}

        @app.get("/documents/{document_id}")
        async def get(document_id: str, caller: Caller) -> JSONResponse:
            document = own(document_id, caller)
            if not document:
                # A problem that names no instance: the gateway must not make one up.
                return JSONResponse(
                    {
                        "type": "about:blank",
                        "title": "Not Found",
                        "status": 404,
                        "detail": "No such document.",
                    },
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
