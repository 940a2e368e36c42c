"""The port every service behind the gateway is reached through: HTTP with the caller's
signed identity (``market_data.py``, ``rag.py`` and ``chat.py`` name each service's
calls).

Every request is signed for exactly what is sent: its method, its path and query as
encoded on the wire, and its body. Values that go into a path are encoded as one
segment each (`segment`), so no user-chosen or identity value can name another route.

Transport failures become the gateway's own errors (503 unreachable, 504 timed out); a
service's 5xx other than 503 becomes 502 without its body, so internals never reach
clients. Everything else (2xx, 4xx problems, 503 with Retry-After) is the caller's to
relay or read. An idempotent request that the pool sent on a connection the service had
closed meanwhile is sent once more, on a fresh connection: one dead connection in the
pool must not fail the next caller, and sending it twice is harmless.

An answer that streams (chat's) is opened rather than read (`ServiceClient.open`): its
status and headers arrive first, its body is the caller's to pass on as it comes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from marketscope_gateway.downstream.spooled import SpooledBody
from marketscope_gateway.errors import (
    DownstreamError,
    DownstreamStatus,
    DownstreamTimeout,
    DownstreamUnavailable,
)
from marketscope_servicekit import Identity, sign_identity
from marketscope_servicekit.calls import Params, problem_detail

logger = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# What a pooled keep-alive connection that the service closed meanwhile fails with,
# before any answer arrived.
DEAD_CONNECTION_ERRORS = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class ServiceClient:
    def __init__(self, service: str, client: httpx.AsyncClient, internal_key: str) -> None:
        self.service = service
        self.http = client
        self._internal_key = internal_key

    def _request(
        self,
        method: str,
        path: str,
        identity: Identity | None,
        *,
        params: Params | None,
        json: Any,
        content: bytes | None,
        body: SpooledBody | None,
        headers: Mapping[str, str] | None,
        timeout: float | httpx.Timeout | None,
    ) -> httpx.Request:
        """The request as it goes out, signed for exactly its method, target and body."""
        query = {key: value for key, value in (params or {}).items() if value is not None}
        request_headers = dict(headers or {})
        if body is not None:  # known, so the body goes with a length rather than chunked
            request_headers["Content-Length"] = str(body.size)
        request = self.http.build_request(
            method,
            path,
            # None rather than empty: httpx copies the whole URL to merge even no query.
            params=query or None,
            json=json,
            content=body if body is not None else content,
            headers=request_headers or None,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )
        if identity is not None:
            request.headers.update(
                sign_identity(
                    self._internal_key,
                    identity,
                    method=request.method,
                    path_with_query=request.url.raw_path.decode("ascii"),
                    body=b"" if body is not None else request.content,
                    body_digest=body.sha256 if body is not None else None,
                )
            )
        return request

    async def send(
        self,
        method: str,
        path: str,
        identity: Identity | None,
        *,
        params: Params | None = None,
        json: Any = None,
        content: bytes | None = None,
        body: SpooledBody | None = None,
        headers: Mapping[str, str] | None = None,
        time_limit: float | None = None,
    ) -> httpx.Response:
        """``path`` is already encoded (its variable parts through `segment`)."""
        request = self._request(
            method,
            path,
            identity,
            params=params,
            json=json,
            content=content,
            body=body,
            headers=headers,
            timeout=time_limit,
        )
        return await self._answer(request, stream=False)

    async def open(
        self,
        method: str,
        path: str,
        identity: Identity,
        *,
        content: bytes,
        headers: Mapping[str, str],
        timeouts: httpx.Timeout,
    ) -> httpx.Response:
        """The answer with its body still unread (``stream=True``): the caller relays it
        as it arrives and must ``aclose`` it. Failures map as in `send`."""
        request = self._request(
            method,
            path,
            identity,
            params=None,
            json=None,
            content=content,
            body=None,
            headers=headers,
            timeout=timeouts,
        )
        return await self._answer(request, stream=True)

    async def _answer(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        method, path = request.method, request.url.path
        try:
            response = await self._exchange(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise DownstreamTimeout(
                self.service, f"{self.service} did not answer in time."
            ) from exc
        except httpx.HTTPError as exc:
            logger.warning("%s unreachable: %s", self.service, exc)
            raise DownstreamUnavailable(self.service, f"{self.service} is unreachable.") from exc
        if response.status_code >= 500 and response.status_code != 503:
            await response.aclose()  # a streamed answer holds its connection until closed
            logger.warning(
                "%s answered %d to %s %s", self.service, response.status_code, method, path
            )
            raise DownstreamError(self.service, f"{self.service} failed to answer.")
        return response

    async def _exchange(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        try:
            return await self.http.send(request, stream=stream)
        except DEAD_CONNECTION_ERRORS as exc:
            if request.method not in IDEMPOTENT_METHODS:
                raise
            # The pool reuses a kept-alive connection; if the service closed it in the
            # meantime the request never reached it. Once more, on a new connection.
            logger.info("%s: %s %s again after %r", self.service, request.method, request.url, exc)
            return await self.http.send(request, stream=stream)

    async def fetch(
        self,
        method: str,
        path: str,
        identity: Identity | None,
        *,
        params: Params | None = None,
        json: Any = None,
        time_limit: float | None = None,
    ) -> Any:
        """The JSON body of a 2xx answer; anything else raises."""
        response = await self.send(
            method, path, identity, params=params, json=json, time_limit=time_limit
        )
        if response.status_code >= 400:
            raise DownstreamStatus(self.service, response.status_code, problem_detail(response))
        try:
            return response.json()
        except ValueError as exc:
            raise DownstreamError(self.service, f"{self.service} answered no JSON.") from exc

    async def healthy(self) -> None:
        """Readiness probe: raises unless the service's /healthz answers 200."""
        response = await self.http.get("/healthz")
        response.raise_for_status()
