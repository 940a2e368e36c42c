"""The port every service behind the gateway is reached through: HTTP with the caller's
signed identity (``market_data.py`` and ``rag.py`` name each service's calls).

Transport failures become the gateway's own errors (503 unreachable, 504 timed out); a
service's 5xx other than 503 becomes 502 without its body, so internals never reach
clients. Everything else (2xx, 4xx problems, 503 with Retry-After) is the caller's to
relay or read.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from marketscope_gateway.errors import (
    DownstreamError,
    DownstreamStatus,
    DownstreamTimeout,
    DownstreamUnavailable,
)
from marketscope_servicekit import Identity, sign_identity

logger = logging.getLogger(__name__)

Params = Mapping[str, str | int | float | bool | None]


def problem_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or f"HTTP {response.status_code}")
    return f"HTTP {response.status_code}"


class ServiceClient:
    def __init__(self, service: str, client: httpx.AsyncClient, internal_key: str) -> None:
        self.service = service
        self.http = client
        self._internal_key = internal_key

    async def send(
        self,
        method: str,
        path: str,
        identity: Identity | None,
        *,
        params: Params | None = None,
        json: Any = None,
        content: AsyncIterator[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        time_limit: float | None = None,
    ) -> httpx.Response:
        request_headers = dict(headers or {})
        if identity is not None:
            request_headers.update(sign_identity(self._internal_key, identity))
        query = {key: value for key, value in (params or {}).items() if value is not None}
        try:
            response = await self.http.request(
                method,
                path,
                params=query,
                json=json,
                content=content,
                headers=request_headers,
                timeout=time_limit if time_limit is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TimeoutException as exc:
            raise DownstreamTimeout(
                self.service, f"{self.service} did not answer in time."
            ) from exc
        except httpx.HTTPError as exc:
            logger.warning("%s unreachable: %s", self.service, exc)
            raise DownstreamUnavailable(self.service, f"{self.service} is unreachable.") from exc
        if response.status_code >= 500 and response.status_code != 503:
            logger.warning(
                "%s answered %d to %s %s", self.service, response.status_code, method, path
            )
            raise DownstreamError(self.service, f"{self.service} failed to answer.")
        return response

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
