"""market-data as it is with a live provider: a loopback relay in front of the real
market-data that holds each answer for a provider's latency before passing it on
unchanged (body, status, headers; the signed request goes through as sent).

The replay provider answers from memory, so a tool round against market-data alone
measures CPU in one process; with yfinance each uncached call waits on the network for
a good part of a second. The relay adds that wait, so the same tools and the same
answers show what a round costs when its calls mostly wait, as real provider calls do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from fastapi import FastAPI, Request, Response

from marketscope_servicekit.testing import served_in_thread

PROVIDER_LATENCY_SECONDS = 0.15
_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


def relay_app(target: str, latency: float) -> FastAPI:
    app = FastAPI()
    client = httpx.AsyncClient(base_url=target, timeout=30)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def relay(path: str, request: Request) -> Response:
        upstream = await client.request(
            request.method,
            request.url.path,
            params=request.query_params,
            content=await request.body(),
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
        )
        await asyncio.sleep(latency)
        headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS}
        return Response(upstream.content, status_code=upstream.status_code, headers=headers)

    return app


@contextmanager
def with_provider_latency(
    market_data_url: str, latency: float = PROVIDER_LATENCY_SECONDS
) -> Iterator[str]:
    """The relay's URL, serving for the duration of the block."""
    with served_in_thread(relay_app(market_data_url, latency)) as url:
        yield url
