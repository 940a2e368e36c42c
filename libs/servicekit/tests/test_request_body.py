"""JSON bodies nested too deep are 422 problem+json in every service app, never a 500
(FastAPI's parser would recurse once per level)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request
from pydantic import BaseModel

from marketscope_servicekit import create_service_app
from marketscope_servicekit.json_limits import MAX_JSON_DEPTH
from marketscope_servicekit.testing import no_components, unreachable_aws

from .conftest import DemoSettings


class Anything(BaseModel):
    value: Any


JSON = {"content-type": "application/json"}


def nested(levels: int) -> bytes:
    return b'{"value": ' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    router = APIRouter()

    @router.post("/things")
    async def things(body: Anything) -> dict[str, str]:
        return {"type": type(body.value).__name__}

    @router.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app = create_service_app(
        "demo",
        DemoSettings(),
        build=no_components,
        readiness_checks=lambda _aws, _components: [],
        routers=[router],
        signed_identity=False,
        aws_settings=unreachable_aws(),
    )
    # Without the fix the RecursionError is the test's to see, not hidden in a 500.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/vnd.api+json; charset=utf-8", None]
)
async def test_a_body_nested_1200_levels_is_422_problem(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    body = nested(1200)
    assert len(body) < 2500
    response = await client.post("/things", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:marketscope:problem:invalid-request"
    assert problem["instance"] == "/things"
    assert problem["limit"] == MAX_JSON_DEPTH
    assert f"deeper than {MAX_JSON_DEPTH} levels" in problem["detail"]


async def test_a_body_at_the_limit_reaches_the_route(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", content=nested(MAX_JSON_DEPTH), headers=JSON)
    assert response.status_code == 200, response.text
    assert response.json() == {"type": "list"}
    too_deep = await client.post("/things", content=nested(MAX_JSON_DEPTH + 1), headers=JSON)
    assert too_deep.status_code == 422


async def test_brackets_inside_strings_do_not_count(client: httpx.AsyncClient) -> None:
    body = b'{"value": "' + b"[" * 5000 + b'"}'
    response = await client.post("/things", content=body, headers=JSON)
    assert response.json() == {"type": "str"}


async def test_bodies_that_are_not_json_pass_untouched(client: httpx.AsyncClient) -> None:
    body = b"[" * 5000
    response = await client.post("/raw", content=body, headers={"content-type": "text/plain"})
    assert response.json() == {"bytes": 5000}
    streamed = await client.post("/raw", content=_chunks(body), headers=JSON)
    assert streamed.status_code == 422


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 1000):
        yield body[start : start + 1000]
