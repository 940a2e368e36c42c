"""The services the tools ask, reached over HTTP as the user.

Every request carries the chat request's identity, signed for exactly what is sent
(method, path and query as encoded on the wire, body), as the gateway signs it: the
services check their owners themselves (market-data refuses another owner's watchlist,
rag searches only the caller's and the shared documents). Values that go into a path are
encoded as one segment each (`segment`), so a symbol the model wrote can name no other
route.

A 5xx, a refused connection or a timeout is retried with exponential backoff and jitter;
each attempt is signed afresh (a signature is only good for a short while). A 4xx is the
service's answer about the request itself (an unknown symbol, a bad parameter): asked
again it answers the same, so it is not retried and its problem ``detail`` becomes the
tool's error for the model to read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from marketscope_chat.tools.base import ToolFailed
from marketscope_servicekit import Identity, sign_identity
from marketscope_servicekit.calls import Params, problem_detail

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a transient failure is tried again."""

    attempts: int = 3
    initial_seconds: float = 0.2
    max_seconds: float = 2.0
    jitter_seconds: float = 0.2


class ServiceRefused(ToolFailed):
    """The service answered 4xx: the request itself was wrong (its problem's detail)."""

    def __init__(self, service: str, status: int, detail: str) -> None:
        super().__init__(detail)
        self.service = service
        self.status = status


class ServiceUnavailable(ToolFailed):
    """The service failed or could not be reached on every attempt."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} is unavailable: {reason}")
        self.service = service
        self.reason = reason


class _Transient(Exception):
    """A failure worth another attempt: a 5xx answer or a transport error."""


class ServiceCaller:
    """One service (``name`` as errors and logs call it) over one pooled client whose
    ``base_url`` is the service's."""

    def __init__(
        self,
        name: str,
        client: httpx.AsyncClient,
        internal_key: str,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.name = name
        self.http = client
        self._internal_key = internal_key
        self._retry = retry or RetryPolicy()

    async def get_json(
        self,
        path: str,
        identity: Identity,
        params: Params | None = None,
        traceparent: str | None = None,
    ) -> Any:
        """The JSON body of ``GET path``; ``path`` is already encoded (`segment`)."""
        return await self._call("GET", path, identity, params=params, traceparent=traceparent)

    async def post_json(
        self,
        path: str,
        identity: Identity,
        body: Any,
        params: Params | None = None,
        traceparent: str | None = None,
    ) -> Any:
        """The JSON body of ``POST path`` with ``body`` as JSON. Only for requests that
        change nothing (a search): a retried POST is sent again as it was."""
        return await self._call(
            "POST", path, identity, params=params, json=body, traceparent=traceparent
        )

    async def _call(
        self,
        method: str,
        path: str,
        identity: Identity,
        *,
        params: Params | None,
        traceparent: str | None,
        json: Any = None,
    ) -> Any:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.attempts),
            wait=wait_exponential_jitter(
                multiplier=self._retry.initial_seconds,
                max=self._retry.max_seconds,
                jitter=self._retry.jitter_seconds,
            ),
            retry=retry_if_exception_type(_Transient),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    response = await self._send(method, path, identity, params, json, traceparent)
        except _Transient as exc:
            raise ServiceUnavailable(self.name, str(exc)) from exc
        if response.status_code >= 400:
            raise ServiceRefused(self.name, response.status_code, problem_detail(response))
        try:
            return response.json()
        except ValueError as exc:
            raise ServiceUnavailable(self.name, "it answered no JSON") from exc

    async def _send(
        self,
        method: str,
        path: str,
        identity: Identity,
        params: Params | None,
        json: Any,
        traceparent: str | None,
    ) -> httpx.Response:
        query = {key: value for key, value in (params or {}).items() if value is not None}
        headers = {"traceparent": traceparent} if traceparent else {}
        request = self.http.build_request(method, path, params=query, json=json, headers=headers)
        request.headers.update(
            sign_identity(
                self._internal_key,
                identity,
                method=request.method,
                path_with_query=request.url.raw_path.decode("ascii"),
                body=request.content,
            )
        )
        try:
            response = await self.http.send(request)
        except httpx.TimeoutException as exc:
            raise _Transient(f"no answer in time ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            # Refused connections, and a pooled connection the service had closed: the
            # requests sent here change nothing, so sending one again is harmless.
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code}: {problem_detail(response)}")
        return response

    def _log_retry(self, state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        logger.warning(
            "%s: attempt %d failed (%s), trying again",
            self.name,
            state.attempt_number,
            failure,
        )
