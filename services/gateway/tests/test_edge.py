"""Edge protection: rate limits per user and per IP, body limits, CORS, problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .conftest import MakeGateway

pytestmark = pytest.mark.integration


async def test_rate_limit_per_user_answers_429_with_retry_after(
    make_gateway: MakeGateway,
) -> None:
    async with make_gateway(rate_limit_per_user="3/minute") as gw:
        _, auth, _ = await gw.user()
        _, other_auth, _ = await gw.user()
        statuses = [
            (await gw.client.get("/api/v1/quotes/AAPL", headers=auth)).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 200]
        limited = await gw.client.get("/api/v1/quotes/AAPL", headers=auth)
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert limited.json()["retry_after"] == int(limited.headers["Retry-After"])
        # Another user on the same address has a budget of their own.
        assert (await gw.client.get("/api/v1/quotes/AAPL", headers=other_auth)).status_code == 200


async def test_rate_limit_per_ip_covers_anonymous_requests(make_gateway: MakeGateway) -> None:
    async with make_gateway(rate_limit_per_ip="4/minute") as gw:
        statuses = [(await gw.client.get("/api/v1/me")).status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 401, 429]
        # Probes are never limited, nor the web app's files (a reload fetches them all).
        assert (await gw.client.get("/healthz")).status_code == 200
        for path in ("/", "/web/app.js", "/web/lib/api.js", "/", "/web/app.css"):
            assert (await gw.client.get(path)).status_code == 200, path
        assert (await gw.client.get("/api/v1/me")).status_code == 429


async def test_bodies_over_the_limit_are_413(make_gateway: MakeGateway) -> None:
    async with make_gateway(max_body_bytes=4096) as gw:
        big = {"email": "a@example.com", "password": "p" * 8000}
        declared = await gw.client.post("/api/v1/auth/register", json=big)
        assert declared.status_code == 413
        assert declared.headers["content-type"] == "application/problem+json"

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"email": "a@example.com", "password": "'
            for _ in range(10):
                yield b"p" * 1000
            yield b'"}'

        # No Content-Length: counted while read.
        streamed = await gw.client.post(
            "/api/v1/auth/register",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
        assert streamed.status_code == 413, streamed.text
        assert streamed.headers["content-type"] == "application/problem+json"


async def test_cors_allows_only_configured_origins(make_gateway: MakeGateway) -> None:
    async with make_gateway(cors_origins=["https://app.example.com"]) as gw:
        preflight = {
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        }
        allowed = await gw.client.options(
            "/api/v1/me", headers={"Origin": "https://app.example.com", **preflight}
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        denied = await gw.client.options(
            "/api/v1/me", headers={"Origin": "https://evil.example.com", **preflight}
        )
        assert "access-control-allow-origin" not in denied.headers
        assert denied.status_code == 400
        assert denied.headers["content-type"] == "application/problem+json"
        simple = await gw.client.get("/api/v1/me", headers={"Origin": "https://app.example.com"})
        assert simple.status_code == 401
        assert simple.headers["access-control-allow-origin"] == "https://app.example.com"


async def test_a_refused_preflight_is_a_problem_naming_what_was_refused(
    make_gateway: MakeGateway,
) -> None:
    async with make_gateway(cors_origins=["https://app.example.com"]) as gw:
        refused = await gw.client.options(
            "/api/v1/me",
            headers={
                "Origin": "https://evil.example.com",
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "Authorization, X-Sneaky",
            },
        )
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["type"] == "urn:marketscope:problem:cors-preflight-refused"
        assert problem["status"] == 400
        assert problem["refused"] == [
            "origin 'https://evil.example.com' is not allowed",
            "method 'PATCH' is not allowed",
            "headers x-sneaky are not allowed",
        ]
        assert "https://evil.example.com" in problem["detail"]
        # What a browser needs to read the refusal stays.
        assert "access-control-allow-methods" in refused.headers


async def test_errors_are_problems_without_internals(make_gateway: MakeGateway) -> None:
    async with make_gateway() as gw:
        _, auth, _ = await gw.user()
        for path in ("/nowhere", "/api/v1/quotes/not%20a%20symbol", "/api/v1/me"):
            response = await gw.client.get(path, headers=auth if path != "/api/v1/me" else {})
            assert response.status_code in (401, 404, 422)
            assert response.headers["content-type"] == "application/problem+json"
            assert "Traceback" not in response.text
        bad_json = await gw.client.post(
            "/api/v1/auth/login",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert bad_json.status_code == 422
        assert bad_json.headers["content-type"] == "application/problem+json"


async def test_streamed_uploads_over_the_limit_are_413(make_gateway: MakeGateway) -> None:
    async with make_gateway(max_upload_bytes=2048) as gw:
        _, auth, _ = await gw.user()
        boundary = "b0undary"

        async def multipart() -> AsyncIterator[bytes]:
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                'filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n'
            ).encode()
            for _ in range(10):
                yield b"x" * 1000
            yield f"\r\n--{boundary}--\r\n".encode()

        response = await gw.client.post(
            "/api/v1/documents",
            content=multipart(),
            headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert response.status_code == 413
        assert response.json()["limit_bytes"] == 2048
        assert gw.rag.documents == {}


async def test_a_new_version_may_be_as_large_as_a_new_document(make_gateway: MakeGateway) -> None:
    # A body over the general limit but within the upload limit: PUT takes what POST takes.
    async with make_gateway(max_body_bytes=4096, max_upload_bytes=65536) as gw:
        _, auth, _ = await gw.user()
        first = await gw.client.post(
            "/api/v1/documents", headers=auth, files={"file": ("a.txt", b"a", "text/plain")}
        )
        document_id = first.json()["document_id"]
        data = b"x" * 20_000
        response = await gw.client.put(
            f"/api/v1/documents/{document_id}",
            headers=auth,
            files={"file": ("a.txt", data, "text/plain")},
        )
        assert response.status_code == 202, response.text
        assert gw.rag.documents[document_id]["size_bytes"] == len(data)
        too_large = await gw.client.put(
            f"/api/v1/documents/{document_id}",
            headers=auth,
            files={"file": ("a.txt", b"x" * 70_000, "text/plain")},
        )
        assert too_large.status_code == 413
        assert too_large.json()["limit_bytes"] == 65536
