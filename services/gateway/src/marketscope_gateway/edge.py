"""Edge protection, as ASGI middleware around every route: CORS (a refused preflight is
400), per-IP and per-user rate limits (429 + Retry-After), and request body limits (413),
all answered in problem+json.

The user of a request is read from its access token without a store call; a personal
API key is resolved through the gateway's components (a table read, cached a few
seconds: `auth/api_keys.py`), so its requests count against the same user's limit.

Rate limits are counted per instance, in memory (``limits``' sliding window counter): a
deployment of N instances behind a load balancer admits up to N times the configured
rate, which is what the per-instance numbers are sized for.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marketscope_gateway.auth.api_keys import is_api_key
from marketscope_gateway.auth.tokens import AccessClaims, TokenCodec
from marketscope_gateway.components import Components
from marketscope_gateway.errors import InvalidToken, SigningKeyUnavailable, StoreUnavailable
from marketscope_gateway.settings import Settings
from marketscope_gateway.web import WEB_PREFIX
from marketscope_servicekit import (
    NotStarted,
    PayloadTooLarge,
    TooManyRequests,
    components_of,
    problem_type,
)
from marketscope_servicekit.openapi_problems import default_statuses
from marketscope_servicekit.problems import problem_response

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})
# Uploads get the upload limit: a new document (POST) and a new version (PUT) alike.
UPLOAD_ROUTES = (
    ("POST", re.compile(r"^/api/v1/documents$")),
    ("PUT", re.compile(r"^/api/v1/documents/[^/]+$")),
)
CLAIMS_STATE = "access_claims"
CORS_REFUSED_TYPE = problem_type("cors-preflight-refused")


def _unlimited(path: str) -> bool:
    """Health checks, and the web app's static files (revalidated on every load, mostly
    304s): a reader reloading the app must not use up the budget of its API calls."""
    return path in UNLIMITED_PATHS or path == "/" or path.startswith(f"{WEB_PREFIX}/")


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as a 400 problem that names
    what was refused (Starlette answers it in plain text)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != HTTPStatus.BAD_REQUEST:
            return response
        refused = self._refused(request_headers)
        # The CORS headers the browser reads stay; the plain-text body's own go.
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in {"content-type", "content-length"}
        }
        return problem_response(
            HTTPStatus.BAD_REQUEST,
            title="CORS preflight refused",
            detail=f"The CORS preflight was refused: {'; '.join(refused)}.",
            type_=CORS_REFUSED_TYPE,
            extensions={"refused": refused},
            headers=headers,
        )

    def _refused(self, request_headers: Headers) -> list[str]:
        origin = request_headers["origin"]
        method = request_headers["access-control-request-method"]
        refused: list[str] = []
        if not self.is_allowed_origin(origin=origin):
            refused.append(f"origin {origin!r} is not allowed")
        if method not in self.allow_methods:
            refused.append(f"method {method!r} is not allowed")
        requested = request_headers.get("access-control-request-headers")
        if requested is not None and not self.allow_all_headers:
            names = [name.strip() for name in requested.lower().split(",")]
            disallowed = [name for name in names if name not in self.allow_headers]
            if disallowed:
                refused.append(f"headers {', '.join(disallowed)} are not allowed")
        private_network = "access-control-request-private-network" in request_headers
        if private_network and not self.allow_private_network:
            refused.append("private network access is not allowed")
        return refused


class RateLimitMiddleware:
    """Counts every HTTP request against its client IP and, when it carries a valid access
    token or API key, against its user. The verified claims are kept in the request
    state so the route's authentication does not verify the credential again."""

    def __init__(self, app: ASGIApp, *, per_ip: str, per_user: str, tokens: TokenCodec) -> None:
        self.app = app
        self._per_ip: RateLimitItem = parse(per_ip)
        self._per_user: RateLimitItem = parse(per_user)
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _unlimited(scope["path"]):
            await self.app(scope, receive, send)
            return
        if not await self._limiter.hit(self._per_ip, "ip", client_ip(scope)):
            await self._reject(scope, send, self._per_ip, "ip", client_ip(scope))
            return
        token = bearer_token(scope)
        if token is not None:
            claims = await self._caller(scope, token)
            if claims is not None:
                scope.setdefault("state", {})[CLAIMS_STATE] = claims
                if not await self._limiter.hit(self._per_user, "user", claims.user_id):
                    await self._reject(scope, send, self._per_user, "user", claims.user_id)
                    return
        await self.app(scope, receive, send)

    async def _caller(self, scope: Scope, token: str) -> AccessClaims | None:
        # A bad credential is the route's to answer (401/503); here it only goes uncounted.
        with contextlib.suppress(InvalidToken, SigningKeyUnavailable, StoreUnavailable, NotStarted):
            if is_api_key(token):
                gateway = components_of(HTTPConnection(scope), Components)
                return await gateway.api_keys.resolve(token)
            return self._tokens.read_access(token)
        return None

    async def _reject(
        self, scope: Scope, send: Send, limit: RateLimitItem, kind: str, key: str
    ) -> None:
        stats = await self._limiter.get_window_stats(limit, kind, key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        response = problem_response(
            429,
            detail=f"Rate limit of {limit} per {kind} exceeded.",
            type_=TooManyRequests.type,
            instance=scope["path"],
            extensions={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


class BodyLimitMiddleware:
    """413 for a body over the limit: at once when Content-Length says so, otherwise as
    soon as the bytes read pass it (chunked uploads cannot slip through)."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = any(
            scope["method"] == method and path.match(scope["path"])
            for method, path in UPLOAD_ROUTES
        )
        limit = self.max_upload if upload else self.max_body
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._too_large(scope, receive, send, limit)
                return
        received = 0
        answered = started = False

        async def limited() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer 413 here and tell the app the client is gone: whatever reads
                    # the body stops, and its own late answer is dropped below. (An
                    # exception raised here could reach the route wrapped in task groups.)
                    if not started:
                        await self._too_large(scope, receive, send, limit)
                    answered = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited, guarded_send)

    @staticmethod
    async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(
            413,
            detail=f"The body exceeds {limit} bytes.",
            type_=PayloadTooLarge.type,
            instance=scope["path"],
            extensions={"limit_bytes": limit},
        )
        await response(scope, receive, send)


def edge_statuses(path: str, operation: dict[str, Any]) -> Iterable[int]:
    """What any gateway operation may answer besides its own statuses: the defaults,
    429 from the rate limit, 413 from the body limit where a body is taken, and 401
    where an access token is required."""
    yield from default_statuses(path, operation)
    if path not in UNLIMITED_PATHS:
        yield HTTPStatus.TOO_MANY_REQUESTS
    if "requestBody" in operation:
        yield HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    if operation.get("security"):
        yield HTTPStatus.UNAUTHORIZED


def install_edge(app: FastAPI, settings: Settings, tokens: TokenCodec) -> None:
    """Outermost first: CORS (so even 413/429 answers carry its headers), then the rate
    limit, then the body limit."""
    app.add_middleware(
        BodyLimitMiddleware, max_body=settings.max_body_bytes, max_upload=settings.max_upload_bytes
    )
    app.add_middleware(
        RateLimitMiddleware,
        per_ip=settings.rate_limit_per_ip,
        per_user=settings.rate_limit_per_user,
        tokens=tokens,
    )
    app.add_middleware(
        ProblemCORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Retry-After", "Location"],
        allow_credentials=False,  # bearer tokens, never cookies
        max_age=600,
    )
