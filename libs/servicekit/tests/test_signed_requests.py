"""The signed identity through a service app: what a route sees, and what replays and
forgeries get (401 problem+json)."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
import requests
from fastapi import APIRouter, Depends, FastAPI, File, UploadFile
from pydantic import BaseModel

from marketscope_servicekit import Identity, create_service_app, current_identity, sign_identity
from marketscope_servicekit.identity import MAX_AGE_SECONDS
from marketscope_servicekit.internal_key import DEVELOPMENT_KEY, ENV_VARIABLE
from marketscope_servicekit.testing import (
    GatewaySigner,
    GatewaySigningAuth,
    identity_headers,
    no_components,
    served_in_thread,
    unreachable_aws,
)

from .conftest import DemoSettings

Caller = Annotated[Identity, Depends(current_identity)]


class Symbols(BaseModel):
    symbols: list[str]


def demo_router() -> APIRouter:
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(caller: Caller) -> dict[str, Any]:
        return {"user": caller.user_id, "roles": sorted(caller.roles)}

    @router.put("/watchlists/{owner}")
    async def save(owner: str, update: Symbols, caller: Caller) -> dict[str, Any]:
        return {"owner": owner, "by": caller.user_id, "symbols": update.symbols}

    @router.post("/documents")
    async def upload(file: Annotated[UploadFile, File()], caller: Caller) -> dict[str, Any]:
        return {"by": caller.user_id, "size": len(await file.read())}

    return router


@pytest.fixture
async def service() -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    # No lifespan: the identity is checked before anything the lifespan builds is used.
    app = create_service_app(
        "demo",
        DemoSettings(),
        build=no_components,
        readiness_checks=lambda _aws, _components: [],
        routers=[demo_router()],
        aws_settings=unreachable_aws(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield app, client


def headers_for(app: FastAPI, method: str, target: str, body: bytes = b"", **kw: Any) -> Any:
    return sign_identity(
        app.state.internal_key,
        Identity("alice"),
        method=method,
        path_with_query=target,
        body=body,
        **kw,
    )


async def test_the_service_key_is_the_sessions_generated_one(
    service: tuple[FastAPI, httpx.AsyncClient], internal_key: str
) -> None:
    app, _ = service
    assert app.state.internal_key == internal_key != DEVELOPMENT_KEY


async def test_a_signed_request_reaches_the_route_with_its_identity(
    service: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = service
    client.auth = GatewaySigner(app.state.internal_key, Identity("alice", frozenset({"user"})))
    assert (await client.get("/whoami")).json() == {"user": "alice", "roles": ["user"]}
    saved = await client.put("/watchlists/alice", json={"symbols": ["AAPL"]})
    assert saved.json() == {"owner": "alice", "by": "alice", "symbols": ["AAPL"]}
    uploaded = await client.post("/documents", files={"file": ("a.md", b"# A" * 1000)})
    assert uploaded.json() == {"by": "alice", "size": 3000}


async def test_headers_signed_with_the_development_key_are_refused(
    service: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = service
    forged = sign_identity(
        DEVELOPMENT_KEY,
        Identity("admin", frozenset({"admin"})),
        method="GET",
        path_with_query="/whoami",
    )
    response = await client.get("/whoami", headers=forged)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_captured_headers_do_not_work_on_another_path_method_query_or_body(
    service: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = service
    body = b'{"symbols": ["AAPL"]}'
    captured = {
        **headers_for(app, "PUT", "/watchlists/alice", body),
        "content-type": "application/json",
    }
    assert (
        await client.put("/watchlists/alice", content=body, headers=captured)
    ).status_code == 200

    replays = [
        client.put("/watchlists/bob", content=body, headers=captured),
        client.put("/watchlists/alice?as=admin", content=body, headers=captured),
        client.put("/watchlists/alice", content=b'{"symbols": ["GME"]}', headers=captured),
        client.get("/whoami", headers=captured),
        client.request("DELETE", "/watchlists/alice", headers=captured),
    ]
    for replay in replays:
        response = await replay
        assert response.status_code in (401, 405), response.text
        if response.status_code == 401:
            assert "does not verify" in response.json()["detail"]


async def test_an_upload_with_other_bytes_than_signed_is_refused(
    service: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = service
    signed = httpx.Request(
        "POST", "http://test/documents", files={"file": ("a.md", b"mine", "text/markdown")}
    )
    signed.read()
    headers = headers_for(app, "POST", "/documents", signed.content)
    tampered = signed.content.replace(b"mine", b"evil")
    forwarded = {"content-type": signed.headers["content-type"], **headers}
    response = await client.post("/documents", content=tampered, headers=forwarded)
    assert response.status_code == 401
    assert (await client.post("/documents", content=signed.content, headers=forwarded)).json() == {
        "by": "alice",
        "size": 4,
    }


async def test_headers_older_than_the_window_are_refused(
    service: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = service
    then = time.time() - MAX_AGE_SECONDS - 5
    stale = headers_for(app, "GET", "/whoami", clock=lambda: then)
    response = await client.get("/whoami", headers=stale)
    assert response.status_code == 401
    assert "stale" in response.json()["detail"]


@pytest.mark.parametrize("user_id", ["line\r\nbreak", "zoë", "../quotes/AAPL"])
async def test_any_user_id_arrives_intact_and_never_breaks_a_header(
    service: tuple[FastAPI, httpx.AsyncClient], user_id: str
) -> None:
    app, client = service
    client.auth = GatewaySigner(app.state.internal_key, Identity(user_id))
    response = await client.get("/whoami")
    assert response.status_code == 200
    assert response.json()["user"] == user_id


def test_the_session_key_is_in_the_environment(internal_key: str) -> None:
    assert os.environ[ENV_VARIABLE] == internal_key
    assert len(internal_key.encode()) >= 32


def test_requests_are_signed_as_sent_for_clients_that_block() -> None:
    app = create_service_app(
        "demo",
        DemoSettings(),
        build=no_components,
        readiness_checks=lambda _aws, _components: [],
        routers=[demo_router()],
        aws_settings=unreachable_aws(),
    )
    caller = Identity("someone/../else", frozenset({"user"}))
    with served_in_thread(app) as url, requests.Session() as session:
        unsigned = session.get(f"{url}/whoami", timeout=10)
        session.auth = GatewaySigningAuth(app.state.internal_key, caller)
        whoami = session.get(f"{url}/whoami?x=%2F", timeout=10)
        saved = session.put(f"{url}/watchlists/a%20b", json={"symbols": ["IBM"]}, timeout=10)
        uploaded = session.post(f"{url}/documents", files={"file": ("a.txt", b"abc")}, timeout=10)
        named = session.get(f"{url}/whoami", headers=identity_headers("other", "admin"), timeout=10)
    assert unsigned.status_code == 401
    assert whoami.json() == {"user": "someone/../else", "roles": ["user"]}
    assert saved.json() == {"owner": "a b", "by": "someone/../else", "symbols": ["IBM"]}
    assert uploaded.json() == {"by": "someone/../else", "size": 3}
    assert named.json() == {"user": "other", "roles": ["admin"]}
