"""A webhook receiver on loopback that verifies what it is sent with the
``standardwebhooks`` package (an implementation of the specification written elsewhere)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the receiver was sent, and the secrets it verifies with (any one suffices)."""

    secrets: list[str]
    received: list[Received] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    # The statuses ``/script/<name>`` answers, one per request; 200 once they run out.
    scripts: dict[str, list[int]] = field(default_factory=dict)

    def at(self, path: str) -> list[Received]:
        return [entry for entry in self.received if entry.path == path]

    def verify(self, body: bytes, headers: dict[str, str]) -> bool:
        ok = False
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            self.verified.append(secret)
            ok = True
        return ok


def receiver_app(receiver: Receiver) -> FastAPI:
    app = FastAPI()

    async def record(request: Request) -> Received:
        entry = Received(request.url.path, dict(request.headers), await request.body())
        receiver.received.append(entry)
        return entry

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        entry = await record(request)
        if not receiver.verify(entry.body, entry.headers):
            return Response("bad signature", status_code=401)
        return Response("thanks " + "x" * 5000, status_code=200)

    @app.post("/status/{code}")
    async def status(code: int, request: Request) -> Response:
        await record(request)
        headers = {}
        if "retry_after" in request.query_params:
            headers["Retry-After"] = request.query_params["retry_after"]
        return Response("nope", status_code=code, headers=headers)

    @app.post("/script/{name}")
    async def scripted(name: str, request: Request) -> Response:
        entry = await record(request)
        script = receiver.scripts.get(name, [])
        code = script.pop(0) if script else 200
        if code == 200 and not receiver.verify(entry.body, entry.headers):
            return Response("bad signature", status_code=401)
        return Response(f"answered {code}", status_code=code)

    @app.post("/redirect")
    async def redirect(request: Request) -> Response:
        await record(request)
        return Response(status_code=302, headers={"Location": "/hook"})

    @app.post("/slow")
    async def slow(request: Request) -> Response:
        await record(request)
        await asyncio.sleep(3)
        return Response("late")

    return app
