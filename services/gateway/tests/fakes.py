"""Fakes shared by the gateway's tests: market-data, rag, chat and notifier as small ASGI
apps, and a service that cannot be reached.

The fake services verify the gateway-signed identity exactly as the real services do
(``current_identity``), so a test passes only if the gateway signs its calls.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, File, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

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


def problem(status: int, detail: str, instance: str, **headers: str) -> JSONResponse:
    """A problem as chat answers it, naming chat's own path as its instance."""
    body = {"type": "about:blank", "title": "Problem", "status": status, "detail": detail}
    return JSONResponse(
        {**body, "instance": instance},
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def openai_chunk(completion_id: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "marketscope",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


@dataclass
class FakeChat:
    """chat's HTTP interface: conversations and analyses scoped to the signed caller,
    messages answered as server-sent events (or JSON), usage, and the OpenAI-compatible
    routes.

    ``hold``: after its first frame a stream waits for this event (a test sets it once
    the frame reached it through the gateway). ``cut_short`` is set when a stream's
    generator is cancelled or closed before its last frame; ``budget_spent`` answers
    messages 429 before streaming.
    """

    reply: tuple[str, ...] = ("Apple's ", "margins ", "are ", "wide.")
    hold: asyncio.Event | None = None
    budget_spent: bool = False
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    analyses: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (method, path with query) of every analyses request, as it reached chat.
    analysis_requests: list[tuple[str, str]] = field(default_factory=list)
    callers: list[Identity] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    accepts: list[str | None] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    cut_short: asyncio.Event = field(default_factory=asyncio.Event)
    completed: int = 0

    def own(self, conversation_id: str, caller: Identity) -> dict[str, Any] | None:
        conversation = self.conversations.get(conversation_id)
        return conversation if conversation and conversation["owner"] == caller.user_id else None

    def own_analysis(self, analysis_id: str, caller: Identity) -> dict[str, Any] | None:
        analysis = self.analyses.get(analysis_id)
        return analysis if analysis and analysis["owner"] == caller.user_id else None

    def seen(self, request: Request) -> None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.analysis_requests.append((request.method, target))

    def summary(self, conversation: dict[str, Any]) -> dict[str, Any]:
        hidden = {"owner", "messages"}
        return {k: v for k, v in conversation.items() if k not in hidden} | {
            "message_count": len(conversation["messages"])
        }

    async def frames(self, message_id: str) -> AsyncIterator[bytes]:
        finished = False
        try:
            yield sse("message.started", {"message_id": message_id})
            self.started.set()
            if self.hold is not None:
                await self.hold.wait()
            for text in self.reply:
                yield sse("message.delta", {"message_id": message_id, "delta": text})
            yield sse("usage", {"input_tokens": 12, "output_tokens": len(self.reply)})
            yield sse(
                "message.completed", {"message_id": message_id, "content": "".join(self.reply)}
            )
            finished = True
            self.completed += 1
        finally:
            if not finished:
                self.cut_short.set()

    async def openai_chunks(self, include_usage: bool) -> AsyncIterator[bytes]:
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        chunks = [openai_chunk(completion_id, {"role": "assistant", "content": ""}, None)]
        chunks += [openai_chunk(completion_id, {"content": text}, None) for text in self.reply]
        chunks.append(openai_chunk(completion_id, {}, "stop"))
        if include_usage:
            usage = {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}
            chunks.append({**openai_chunk(completion_id, {}, None), "choices": [], "usage": usage})
        for chunk in chunks:
            yield f"data: {json.dumps(chunk)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    def app(self) -> FastAPI:
        app = FastAPI()
        app.state.internal_key = InternalKeySettings().internal_key  # the gateway's
        install_body_digest(app)  # what current_identity hashes the body with
        install_problem_handlers(app)

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.post("/conversations", status_code=201)
        async def create(body: dict[str, Any], caller: Caller) -> dict[str, Any]:
            self.callers.append(caller)
            now = "2024-05-01T12:00:00Z"
            conversation: dict[str, Any] = {
                "id": uuid.uuid4().hex,
                "title": body.get("title"),
                "created_at": now,
                "updated_at": now,
                "expires_at": "2024-08-01T12:00:00Z",
                "owner": caller.user_id,
                "messages": [],
            }
            self.conversations[conversation["id"]] = conversation
            return self.summary(conversation)

        @app.get("/conversations", response_model=None)
        async def listing(
            request: Request, caller: Caller, limit: int = 20, cursor: str | None = None
        ) -> Response:
            if cursor is not None and not cursor.isdigit():
                return problem(422, "Not a cursor of this listing.", request.url.path)
            mine = [c for c in self.conversations.values() if c["owner"] == caller.user_id]
            start = int(cursor or 0)
            page = mine[start : start + limit]
            more = start + limit < len(mine)
            return JSONResponse(
                {
                    "items": [self.summary(c) for c in page],
                    "next_cursor": str(start + limit) if more else None,
                }
            )

        @app.get("/conversations/{conversation_id}", response_model=None)
        async def read(conversation_id: str, request: Request, caller: Caller) -> Response:
            conversation = self.own(conversation_id, caller)
            if conversation is None:
                return problem(404, "No such conversation.", request.url.path)
            return JSONResponse(
                {**self.summary(conversation), "messages": conversation["messages"]}
            )

        @app.delete("/conversations/{conversation_id}", status_code=204, response_model=None)
        async def delete(conversation_id: str, request: Request, caller: Caller) -> Response:
            if self.own(conversation_id, caller) is None:
                return problem(404, "No such conversation.", request.url.path)
            del self.conversations[conversation_id]
            return Response(status_code=204)

        @app.post("/conversations/{conversation_id}/messages", response_model=None)
        async def message(conversation_id: str, request: Request, caller: Caller) -> Response:
            self.callers.append(caller)
            self.bodies.append(await request.body())
            accept = request.headers.get("accept")
            self.accepts.append(accept)
            conversation = self.own(conversation_id, caller)
            if conversation is None:
                return problem(404, "No such conversation.", request.url.path)
            content = json.loads(await request.body()).get("content")
            if not isinstance(content, str) or not content.strip():
                return problem(422, "A message needs content.", request.url.path)
            if self.budget_spent:
                retry = {"Retry-After": "3600"}
                return problem(429, "The daily budget is spent.", request.url.path, **retry)
            conversation["messages"].append({"role": "user", "content": content})
            message_id = uuid.uuid4().hex
            if accept and accept.startswith("application/json"):
                reply = {"id": message_id, "role": "assistant", "content": "".join(self.reply)}
                conversation["messages"].append(reply)
                return JSONResponse({"message": reply})
            return StreamingResponse(self.frames(message_id), media_type="text/event-stream")

        @app.post("/analyses", status_code=202, response_model=None)
        async def request_analysis(request: Request, caller: Caller) -> Response:
            self.seen(request)
            self.callers.append(caller)
            self.bodies.append(await request.body())
            body = json.loads(await request.body())
            unknown = [symbol for symbol in body["symbols"] if symbol == "NOPE"]
            if unknown:
                return problem(422, f"Unknown symbols: {unknown}.", request.url.path)
            if self.budget_spent:
                retry = {"Retry-After": "3600"}
                return problem(429, "The daily budget is spent.", request.url.path, **retry)
            analysis_id = uuid.uuid4().hex
            analysis = {
                "analysis_id": analysis_id,
                "kind": body["kind"],
                "symbols": body["symbols"],
                "status": "queued",
                "progress": {"stage": "queued", "percent": 0},
                "report": None,
                "owner": caller.user_id,
            }
            self.analyses[analysis_id] = analysis
            return JSONResponse(
                {k: v for k, v in analysis.items() if k != "owner"},
                status_code=202,
                headers={"Location": f"/analyses/{analysis_id}"},
            )

        @app.get("/analyses", response_model=None)
        async def analyses(
            request: Request, caller: Caller, limit: int = 20, cursor: str | None = None
        ) -> Response:
            self.seen(request)
            self.callers.append(caller)
            if cursor is not None and not cursor.isdigit():
                return problem(422, "Not a cursor of this listing.", request.url.path)
            mine = [a for a in self.analyses.values() if a["owner"] == caller.user_id][::-1]
            start = int(cursor or 0)
            more = start + limit < len(mine)
            return JSONResponse(
                {
                    "items": [
                        {k: v for k, v in a.items() if k != "owner"}
                        for a in mine[start : start + limit]
                    ],
                    "next_cursor": str(start + limit) if more else None,
                }
            )

        @app.get("/analyses/{analysis_id}", response_model=None)
        async def analysis(analysis_id: str, request: Request, caller: Caller) -> Response:
            self.seen(request)
            self.callers.append(caller)
            found = self.own_analysis(analysis_id, caller)
            if found is None:
                return problem(404, "No such analysis.", request.url.path)
            return JSONResponse({k: v for k, v in found.items() if k != "owner"})

        @app.delete("/analyses/{analysis_id}", status_code=204, response_model=None)
        async def cancel(analysis_id: str, request: Request, caller: Caller) -> Response:
            self.seen(request)
            self.callers.append(caller)
            found = self.own_analysis(analysis_id, caller)
            if found is None:
                return problem(404, "No such analysis.", request.url.path)
            if found["status"] in {"completed", "failed", "cancelled"}:
                return problem(409, f"The analysis is {found['status']}.", request.url.path)
            found["status"] = "cancelled"
            return Response(status_code=204)

        @app.get("/usage")
        async def usage(caller: Caller) -> dict[str, Any]:
            tokens = {"input_tokens": 12, "output_tokens": 4, "cost_usd": 0.001}
            return {
                "today": tokens,
                "month": tokens,
                "by_model": [{"model": "fake", **tokens}],
                "budget": {"daily_usd": 1.0, "remaining_usd": 0.999},
                "user_id": caller.user_id,
            }

        @app.get("/openai/v1/models")
        async def models(caller: Caller) -> dict[str, Any]:
            model = {
                "id": "marketscope",
                "object": "model",
                "created": 0,
                "owned_by": "marketscope",
            }
            return {"object": "list", "data": [model]}

        @app.post("/openai/v1/chat/completions", response_model=None)
        async def completions(request: Request, caller: Caller) -> Response:
            self.callers.append(caller)
            self.bodies.append(await request.body())
            body = json.loads(await request.body())
            if body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return StreamingResponse(
                    self.openai_chunks(include_usage), media_type="text/event-stream"
                )
            return JSONResponse(
                {
                    "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "marketscope"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "".join(self.reply)},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
                }
            )

        return app


ALERT_KINDS = {
    "greater_than",
    "less_than",
    "crossing",
    "crossing_up",
    "crossing_down",
    "entering_channel",
    "exiting_channel",
    "moving_up_pct",
    "moving_down_pct",
}


@dataclass
class FakeNotifier:
    """notifier's alerts and inbox, scoped to the signed caller like notifier does: another
    user's alert or notification is 404. An unknown condition kind is 422, pausing a paused
    alert 409. ``inbox`` holds each user's notifications (``owner``, ``read`` among them);
    ``channels`` each user's delivery channels (added and listed; any other channel route
    is notifier's 404 for a channel the caller does not have)."""

    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    inbox: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (method, path with query) of every request, and its body, as they reached notifier.
    requests: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    callers: list[Identity] = field(default_factory=list)

    def notify(self, owner: str, title: str, *, read: bool = False) -> str:
        notification_id = f"ntf_{uuid.uuid4().hex}"
        self.inbox[notification_id] = {
            "notification_id": notification_id,
            "kind": "alert",
            "title": title,
            "body": title,
            "link": None,
            "created_at": "2024-05-01T12:00:00Z",
            "read": read,
            "owner": owner,
        }
        return notification_id

    def app(self) -> FastAPI:
        app = FastAPI()
        app.state.internal_key = InternalKeySettings().internal_key  # the gateway's
        install_body_digest(app)  # what current_identity hashes the body with
        install_problem_handlers(app)

        async def seen(request: Request, caller: Identity) -> None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            self.requests.append((request.method, target))
            self.bodies.append(await request.body())
            self.callers.append(caller)

        def public(alert: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in alert.items() if k != "owner"}

        def own(alert_id: str, caller: Identity) -> dict[str, Any] | None:
            alert = self.alerts.get(alert_id)
            return alert if alert and alert["owner"] == caller.user_id else None

        def missing(request: Request, alert_id: str) -> JSONResponse:
            return problem(404, f"No alert {alert_id}.", request.url.path)

        def bad_condition(request: Request, body: dict[str, Any]) -> JSONResponse | None:
            condition = body.get("condition")
            if condition is not None and condition.get("kind") not in ALERT_KINDS:
                return problem(422, "Not a condition notifier knows.", request.url.path)
            return None

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.post("/alerts", status_code=201, response_model=None)
        async def create(request: Request, caller: Caller) -> Response:
            await seen(request, caller)
            body = json.loads(await request.body())
            refused = bad_condition(request, body)
            if refused is not None:
                return refused
            alert_id = f"alr_{uuid.uuid4().hex}"
            alert = {
                "alert_id": alert_id,
                "symbol": body["symbol"].upper(),
                "condition": body["condition"],
                "frequency": body.get("frequency") or {"kind": "once"},
                "status": "active",
                "note": body.get("note"),
                "link": f"/api/v1/alerts/{alert_id}",
                "owner": caller.user_id,
            }
            self.alerts[alert_id] = alert
            return JSONResponse(
                public(alert), status_code=201, headers={"Location": f"/alerts/{alert_id}"}
            )

        @app.get("/alerts", response_model=None)
        async def listing(
            request: Request, caller: Caller, limit: int = 20, cursor: str | None = None
        ) -> Response:
            await seen(request, caller)
            if cursor is not None and not cursor.isdigit():
                return problem(422, "Not a cursor of this listing.", request.url.path)
            mine = [a for a in self.alerts.values() if a["owner"] == caller.user_id][::-1]
            start = int(cursor or 0)
            more = start + limit < len(mine)
            return JSONResponse(
                {
                    "items": [public(a) for a in mine[start : start + limit]],
                    "next_cursor": str(start + limit) if more else None,
                }
            )

        @app.get("/alerts/{alert_id}", response_model=None)
        async def read(alert_id: str, request: Request, caller: Caller) -> Response:
            await seen(request, caller)
            alert = own(alert_id, caller)
            return missing(request, alert_id) if alert is None else JSONResponse(public(alert))

        @app.patch("/alerts/{alert_id}", response_model=None)
        async def change(alert_id: str, request: Request, caller: Caller) -> Response:
            await seen(request, caller)
            alert = own(alert_id, caller)
            if alert is None:
                return missing(request, alert_id)
            body = json.loads(await request.body())
            refused = bad_condition(request, body)
            if refused is not None:
                return refused
            alert.update({k: v for k, v in body.items() if k in {"condition", "note"}})
            return JSONResponse(public(alert))

        @app.post("/alerts/{alert_id}/{action}", response_model=None)
        async def pause_or_resume(
            alert_id: str, action: str, request: Request, caller: Caller
        ) -> Response:
            await seen(request, caller)
            alert = own(alert_id, caller)
            if alert is None or action not in {"pause", "resume"}:
                return missing(request, alert_id)
            wanted = "paused" if action == "pause" else "active"
            if alert["status"] == wanted:
                return problem(409, f"Alert {alert_id} is {wanted} already.", request.url.path)
            alert["status"] = wanted
            return JSONResponse(public(alert))

        @app.delete("/alerts/{alert_id}", status_code=204, response_model=None)
        async def delete(alert_id: str, request: Request, caller: Caller) -> Response:
            await seen(request, caller)
            if own(alert_id, caller) is None:
                return missing(request, alert_id)
            del self.alerts[alert_id]
            return Response(status_code=204)

        def mine(caller: Identity) -> list[dict[str, Any]]:
            return [n for n in self.inbox.values() if n["owner"] == caller.user_id]

        @app.get("/notifications", response_model=None)
        async def notifications(
            request: Request,
            caller: Caller,
            limit: int = 20,
            cursor: str | None = None,
            unread: bool = False,
        ) -> Response:
            await seen(request, caller)
            if cursor is not None and not cursor.isdigit():
                return problem(422, "Not a cursor of this listing.", request.url.path)
            listed = [n for n in mine(caller) if not (unread and n["read"])][::-1]
            start = int(cursor or 0)
            more = start + limit < len(listed)
            return JSONResponse(
                {
                    "items": [
                        {k: v for k, v in n.items() if k != "owner"}
                        for n in listed[start : start + limit]
                    ],
                    "next_cursor": str(start + limit) if more else None,
                }
            )

        @app.get("/notifications/unread-count")
        async def unread_count(request: Request, caller: Caller) -> dict[str, int]:
            await seen(request, caller)
            return {"unread": sum(not n["read"] for n in mine(caller))}

        @app.post("/notifications/read-all")
        async def read_all(request: Request, caller: Caller) -> dict[str, int]:
            await seen(request, caller)
            unread = [n for n in mine(caller) if not n["read"]]
            for notification in unread:
                notification["read"] = True
            return {"marked": len(unread)}

        @app.post("/notifications/{notification_id}/read", status_code=204, response_model=None)
        async def mark_read(notification_id: str, request: Request, caller: Caller) -> Response:
            await seen(request, caller)
            notification = self.inbox.get(notification_id)
            if notification is None or notification["owner"] != caller.user_id:
                detail = f"No notification {notification_id}."
                return problem(404, detail, request.url.path)
            notification["read"] = True
            return Response(status_code=204)

        @app.get("/notification-channels", response_model=None)
        async def channels(request: Request, caller: Caller) -> Response:
            await seen(request, caller)
            listed = [public(c) for c in self.channels.values() if c["owner"] == caller.user_id]
            return JSONResponse({"items": listed[::-1]})

        @app.post("/notification-channels", status_code=201, response_model=None)
        async def add_channel(request: Request, caller: Caller) -> Response:
            await seen(request, caller)
            body = json.loads(await request.body())
            target = {"webhook": "url", "email": "email", "sms": "phone"}[body["type"]]
            if not body.get(target):
                return problem(
                    422, f"A {body['type']} channel needs its {target}.", request.url.path
                )
            channel_id = f"chn_{uuid.uuid4().hex}"
            channel = {
                "channel_id": channel_id,
                "type": body["type"],
                target: body[target],
                "status": "pending_verification" if body["type"] == "sms" else "active",
                "owner": caller.user_id,
            }
            self.channels[channel_id] = channel
            secret = f"whsec_{uuid.uuid4().hex}" if body["type"] == "webhook" else None
            return JSONResponse(
                {"channel": public(channel), "secret": secret},
                status_code=201,
                headers={"Location": f"/notification-channels/{channel_id}"},
            )

        return app
