from typing import Any

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from marketscope_servicekit import Identity, create_service_app
from marketscope_servicekit.errors import Conflict, NotFound
from marketscope_servicekit.openapi_problems import (
    SCHEMA_NAME,
    default_statuses,
    install_problem_docs,
    problem_responses,
)
from marketscope_servicekit.problems import PROBLEM_JSON, install_problem_handlers
from marketscope_servicekit.testing import GatewaySigner, no_components, unreachable_aws

from .conftest import DemoSettings

PROBLEM_REF = {"$ref": f"#/components/schemas/{SCHEMA_NAME}"}


def documented_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/things/{thing_id}", responses=problem_responses(NotFound))
    async def read_thing(thing_id: int) -> dict[str, int]:
        raise NotFound(f"No thing {thing_id}.")

    @app.put("/things/{thing_id}", responses=problem_responses(NotFound, Conflict, 412))
    async def write_thing(thing_id: int, body: dict[str, str]) -> dict[str, str]:
        return body

    @app.get("/ping")
    async def ping() -> str:
        return "pong"

    install_problem_docs(app)
    return app


def responses(app: FastAPI, path: str, method: str) -> dict[str, Any]:
    found: dict[str, Any] = app.openapi()["paths"][path][method]["responses"]
    return found


def test_route_and_common_statuses_are_documented_as_problem_json() -> None:
    app = documented_app()
    read = responses(app, "/things/{thing_id}", "get")
    assert set(read) == {"200", "404", "422", "503"}
    write = responses(app, "/things/{thing_id}", "put")
    assert set(write) == {"200", "400", "404", "409", "412", "422", "503"}
    for status in ("404", "422", "503"):
        assert read[status]["content"] == {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    assert "application/json" in read["200"]["content"]


def test_an_operation_without_input_gets_no_422() -> None:
    assert set(responses(documented_app(), "/ping", "get")) == {"200", "503"}


def test_fastapis_validation_schemas_give_way_to_the_problem_schema() -> None:
    schemas = documented_app().openapi()["components"]["schemas"]
    assert SCHEMA_NAME in schemas
    assert "HTTPValidationError" not in schemas
    assert set(schemas[SCHEMA_NAME]["required"]) == {"type", "title", "status"}


def test_what_the_document_says_is_what_the_app_answers() -> None:
    app = documented_app()
    client = TestClient(app)
    for response in (client.get("/things/7"), client.get("/things/seven")):
        assert str(response.status_code) in responses(app, "/things/{thing_id}", "get")
        assert response.headers["content-type"] == PROBLEM_JSON


def test_services_can_extend_the_common_statuses() -> None:
    app = FastAPI()

    @app.get("/private")
    async def private() -> str:
        return "secret"

    install_problem_docs(
        app, common=lambda path, operation: [*default_statuses(path, operation), 401]
    )
    assert set(responses(app, "/private", "get")) == {"200", "401", "503"}


def test_descriptions_name_what_a_route_means_by_a_status() -> None:
    described = problem_responses(NotFound, Conflict, descriptions={404: "No such thing"})
    assert described == {404: {"description": "No such thing"}, 409: {"description": "Conflict"}}


def signed_service_app() -> FastAPI:
    router = APIRouter()

    @router.get("/things/{thing_id}", responses=problem_responses(NotFound))
    async def read_thing(thing_id: int) -> dict[str, int]:
        raise NotFound(f"No thing {thing_id}.")

    return create_service_app(
        "demo",
        DemoSettings(),
        build=no_components,
        readiness_checks=lambda _aws, _components: [],
        routers=[router],
        aws_settings=unreachable_aws(),
    )


def test_a_service_documents_401_on_its_routes_and_only_real_statuses_on_health() -> None:
    app = signed_service_app()
    assert set(responses(app, "/things/{thing_id}", "get")) == {"200", "401", "404", "422", "503"}
    assert set(responses(app, "/healthz", "get")) == {"200"}
    readyz = responses(app, "/readyz", "get")
    assert set(readyz) == {"200", "503"}
    assert readyz["503"]["content"] == {PROBLEM_JSON: {"schema": PROBLEM_REF}}


async def test_a_service_answers_what_its_document_says() -> None:
    app = signed_service_app()
    signer = GatewaySigner(app.state.internal_key, Identity("someone"))
    transport = httpx.ASGITransport(app=app)  # no lifespan: /readyz is not ready
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = {
            ("/things/{thing_id}", "unsigned"): await client.get("/things/7"),
            ("/things/{thing_id}", "signed"): await client.get("/things/7", auth=signer),
            ("/things/{thing_id}", "invalid"): await client.get("/things/x", auth=signer),
            ("/readyz", "before start"): await client.get("/readyz"),
        }
    for (path, _case), answer in answers.items():
        assert str(answer.status_code) in responses(app, path, "get"), (path, answer.text)
        assert answer.headers["content-type"] == PROBLEM_JSON
    assert [answer.status_code for answer in answers.values()] == [401, 404, 422, 503]
