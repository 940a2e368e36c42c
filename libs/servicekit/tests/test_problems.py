from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI, HTTPException

from marketscope_servicekit import ServiceError

PROBLEM_JSON = "application/problem+json"


class QuoteNotFoundError(ServiceError):
    status = 404
    type = "urn:marketscope:problem:quote-not-found"

    def __init__(self, symbol: str) -> None:
        super().__init__(f"No quote for {symbol}.", extensions={"symbol": symbol})


@pytest.fixture
def app(make_app) -> FastAPI:
    app = make_app([])

    @app.get("/quotes/{symbol}")
    async def quote(symbol: str) -> dict[str, str]:
        raise QuoteNotFoundError(symbol)

    @app.get("/limits")
    async def limits(count: int, window: int) -> dict[str, int]:
        return {"count": count, "window": window}

    @app.get("/forbidden")
    async def forbidden() -> None:
        raise HTTPException(403, detail="Not your watchlist.", headers={"X-Reason": "owner"})

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret connection string postgres://admin:hunter2@db")

    return app


async def test_service_error_becomes_its_problem(app, running):
    async with running(app) as client:
        response = await client.get("/quotes/ZZZZ")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "urn:marketscope:problem:quote-not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "No quote for ZZZZ.",
        "instance": "/quotes/ZZZZ",
        "symbol": "ZZZZ",
    }


async def test_unknown_route_is_a_404_problem(app, running):
    async with running(app) as client:
        response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "about:blank"
    assert problem["title"] == "Not Found"
    assert problem["instance"] == "/nowhere"
    assert "detail" not in problem  # Starlette's default detail only repeats the title


async def test_http_exception_keeps_detail_and_headers(app, running):
    async with running(app) as client:
        response = await client.get("/forbidden")
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["x-reason"] == "owner"
    assert response.json()["detail"] == "Not your watchlist."


async def test_wrong_method_keeps_the_allow_header(app, running):
    async with running(app) as client:
        response = await client.post("/limits")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["allow"] == "GET"


async def test_validation_error_lists_every_invalid_field(app, running):
    async with running(app) as client:
        response = await client.get("/limits", params={"count": "many"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["title"] == "Unprocessable Entity"
    locations = sorted(tuple(error["loc"]) for error in problem["errors"])
    assert locations == [("query", "count"), ("query", "window")]
    assert all(error["msg"] and error["type"] for error in problem["errors"])
    assert "many" not in response.text  # the rejected input is not echoed back


async def test_unexpected_error_is_a_generic_500_and_logged(app, running, caplog):
    async with running(app) as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["title"] == "Internal Server Error"
    assert problem["detail"] == "An unexpected error occurred."
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert record.path == "/boom"


async def test_extensions_cannot_overwrite_the_standard_members(make_app, running):
    app = make_app([])

    @app.get("/conflict")
    async def conflict() -> None:
        raise ServiceError("Two writers.", extensions={"status": 200, "title": "OK", "id": 7})

    async with running(app) as client:
        response = await client.get("/conflict")
    assert response.status_code == 500
    problem = response.json()
    assert (problem["status"], problem["title"], problem["id"]) == (500, "Internal Server Error", 7)
