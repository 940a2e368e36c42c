"""What every service does with a request body before its routes see it.

``BodyDigestMiddleware`` hashes the body as the app reads it, so the signed identity
can cover the body without holding it twice (a multipart upload is parsed straight off
the stream and never cached as bytes). ``JsonDepthMiddleware`` refuses a JSON body that
nests deeper than ``MAX_JSON_DEPTH`` with 422 problem+json: FastAPI's parser would
recurse once per level and fail with ``RecursionError`` (a 1,200-level body is 2 KB).

Both are plain ASGI rather than Starlette's BaseHTTPMiddleware, which wraps every
response in a stream.
"""

from __future__ import annotations

import hashlib
from http import HTTPStatus

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marketscope_servicekit.errors import InvalidRequest
from marketscope_servicekit.json_limits import MAX_JSON_DEPTH, JsonTooDeep, check_json_depth
from marketscope_servicekit.problems import problem_response

DIGEST_SCOPE_KEY = "marketscope.body_digest"


class BodyDigest:
    """The running SHA-256 of a request body and whether all of it has been read."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.complete = False

    def update(self, message: Message) -> None:
        if message["type"] != "http.request" or self.complete:
            return
        self._hash.update(message.get("body", b""))
        self.complete = not message.get("more_body", False)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class BodyDigestMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        digest = BodyDigest()
        scope[DIGEST_SCOPE_KEY] = digest

        async def hashing_receive() -> Message:
            message = await receive()
            digest.update(message)
            return message

        await self.app(scope, hashing_receive, send)


async def body_sha256(request: Request) -> str:
    """The SHA-256 hex digest of the whole request body. What the route has not read
    yet is read now (and cached by Starlette for the route)."""
    digest: BodyDigest | None = request.scope.get(DIGEST_SCOPE_KEY)
    if digest is None:
        raise RuntimeError("the app has no BodyDigestMiddleware (install_body_digest)")
    if not digest.complete:
        await request.body()
    return digest.hexdigest()


def parses_as_json(scope: Scope) -> bool:
    """Whether this request's body may be read as JSON: ``application/json``,
    ``application/*+json``, or no content type at all (FastAPI's lenient mode, and a
    route reading the body itself, take it as JSON)."""
    content_type = b""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            content_type = value
            break
    media_type = content_type.split(b";", 1)[0].strip().lower()
    if not media_type:
        return True
    main, _, sub = media_type.partition(b"/")
    return main == b"application" and (sub == b"json" or sub.endswith(b"+json"))


class JsonDepthMiddleware:
    def __init__(self, app: ASGIApp, limit: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not parses_as_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":  # the client left: nothing to parse
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            more_body = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            check_json_depth(body, limit=self.limit)
        except JsonTooDeep as exc:
            response = problem_response(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                title=InvalidRequest.title,
                type_=InvalidRequest.type,
                detail=f"The JSON body nests deeper than {exc.limit} levels.",
                instance=scope.get("root_path", "") + scope["path"],
                extensions={"limit": exc.limit},
            )
            await response(scope, receive, send)
            return
        replayed: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([replayed], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that hands out ``messages`` first, then what the client sends next."""
    pending = list(messages)

    async def replaying_receive() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replaying_receive


def install_body_digest(app: FastAPI) -> None:
    """What `current_identity` needs on an app whose routes take the signed identity."""
    app.add_middleware(BodyDigestMiddleware)


def install_json_depth_limit(app: FastAPI) -> None:
    app.add_middleware(JsonDepthMiddleware)
