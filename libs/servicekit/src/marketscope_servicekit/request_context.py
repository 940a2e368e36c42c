"""What a log line says about the request and trace it belongs to.

Every request has an id: the caller's ``X-Request-Id`` when it sent a usable one (the
gateway's calls downstream forward theirs, so one id names the request in every
service's logs), a new one otherwise; the response carries it back. ``trace_id`` is the
active span's W3C trace id, which `marketscope trace` takes as it is.
"""

from __future__ import annotations

import contextvars
import re
import uuid

import httpx
from fastapi import FastAPI
from opentelemetry import trace
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-Id"
_USABLE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "marketscope_request_id", default=None
)
# Which service's code runs (set by its lifespan and for each of its requests): several
# services in one process (the test stack) each log, and ship, as themselves.
_SERVICE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "marketscope_service", default=None
)


def use_service(name: str | None) -> contextvars.Token[str | None]:
    """Name the service whose code runs in this context; the token undoes it."""
    return _SERVICE.set(name)


def restore_service(token: contextvars.Token[str | None]) -> None:
    _SERVICE.reset(token)


def current_service() -> str | None:
    return _SERVICE.get()


def install_request_id(app: FastAPI, service: str) -> None:
    app.add_middleware(RequestIdMiddleware, service=service)


def current_request_id() -> str | None:
    return _REQUEST_ID.get()


def current_trace_id() -> str | None:
    """The active span's trace id as 32 hex digits, or None outside any span."""
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


class RequestIdMiddleware:
    """Pure ASGI: the request's id (and the service) in the context while it runs, and
    the id in its answer."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or ()).get(REQUEST_ID_HEADER.lower().encode(), b"")
        text = sent.decode("latin-1")
        request_id = text if _USABLE_ID.match(text) else uuid.uuid4().hex
        token = _REQUEST_ID.set(request_id)
        service_token = _SERVICE.set(self.service)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _REQUEST_ID.reset(token)
            _SERVICE.reset(service_token)


async def _forward_request_id(request: httpx.Request) -> None:
    request_id = current_request_id()
    if request_id is not None and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = request_id


def forward_request_id(client: httpx.AsyncClient) -> None:
    """``client``'s calls made while handling a request carry that request's id."""
    client.event_hooks["request"] = [*client.event_hooks["request"], _forward_request_id]
