"""The loopback webhook receiver of the webhook phase, served by uvicorn in its own process
(``uvicorn receiver:create_app --factory``): ``POST /hook`` answers 204 and counts; every
``SAMPLE_EVERY``-th request's headers and body are kept (up to ``SAMPLE_LIMIT``) for the
benchmark to verify the signatures with ``standardwebhooks``; ``GET /received`` tells
both, ``POST /reset`` starts over."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SAMPLE_EVERY = 50
SAMPLE_LIMIT = 200
SIGNED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


@dataclass
class Received:
    count: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)

    def take(self, headers: dict[str, str], body: bytes) -> None:
        self.count += 1
        if self.count % SAMPLE_EVERY == 1 and len(self.samples) < SAMPLE_LIMIT:
            kept = {name: headers.get(name, "") for name in SIGNED_HEADERS}
            self.samples.append({"headers": kept, "body": body.decode()})


def create_app() -> Starlette:
    received = Received()

    async def hook(request: Request) -> Response:
        received.take(dict(request.headers), await request.body())
        return Response(status_code=204)

    async def report(_: Request) -> Response:
        return JSONResponse({"count": received.count, "samples": received.samples})

    async def reset(_: Request) -> Response:
        received.count = 0
        received.samples.clear()
        return Response(status_code=204)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/hook", hook, methods=["POST"]),
            Route("/received", report, methods=["GET"]),
            Route("/reset", reset, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
