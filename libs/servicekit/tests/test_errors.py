"""The shared error vocabulary as HTTP: AWS that does not answer is 503, a route before
start-up is 503 not-started, service routes need the signed identity, and each base
error has one status and one problem type."""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from fastapi import APIRouter, FastAPI, Request

from marketscope_servicekit import (
    Identity,
    InvalidRequest,
    NotFound,
    ServiceSettings,
    components_of,
    create_service_app,
    sign_identity,
)
from marketscope_servicekit.testing import no_components


class Settings(ServiceSettings):
    port: int = 18998
    table_name: str = "demo"


class Components:
    pass


def app_with(router: APIRouter, *, signed_identity: bool = False) -> FastAPI:
    return create_service_app(
        "demo",
        Settings(),
        build=no_components,
        readiness_checks=lambda _aws, _components: [],
        routers=[router],
        signed_identity=signed_identity,
    )


async def get(app: FastAPI, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path, **kwargs)  # type: ignore[arg-type]


def throttled() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "Query")


def denied() -> ClientError:
    return ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Query")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), 503),
        (throttled(), 503),
        (denied(), 500),
    ],
)
async def test_aws_errors_are_503_when_aws_is_unavailable(error: Exception, status: int) -> None:
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise error

    response = await get(app_with(router), "/boom")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    if status == 503:
        assert response.json()["type"] == "urn:marketscope:problem:dependency-unavailable"
        assert response.headers["retry-after"]


async def test_components_of_answers_503_before_start_up() -> None:
    router = APIRouter()

    @router.get("/things")
    async def things(request: Request) -> str:
        return type(components_of(request, Components)).__name__

    response = await get(app_with(router), "/things")
    assert response.status_code == 503
    problem = response.json()
    assert problem["type"] == "urn:marketscope:problem:not-started"
    assert problem["service"] == "demo"


async def test_service_routes_need_the_signed_identity() -> None:
    router = APIRouter()

    @router.get("/mine")
    async def mine() -> str:
        return "ok"

    app = app_with(router, signed_identity=True)
    assert (await get(app, "/mine")).status_code == 401
    assert (await get(app, "/healthz")).status_code == 200
    headers = sign_identity(
        app.state.internal_key, Identity("u1"), method="GET", path_with_query="/mine"
    )
    assert (await get(app, "/mine", headers=headers)).status_code == 200


def test_one_status_and_type_per_kind() -> None:
    assert (InvalidRequest.status, InvalidRequest.type) == (
        422,
        "urn:marketscope:problem:invalid-request",
    )
    assert (NotFound.status, NotFound.type) == (404, "urn:marketscope:problem:not-found")
    assert InvalidRequest("bad", allowed=["1d"]).extensions == {"allowed": ["1d"]}
