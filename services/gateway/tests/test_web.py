"""The web app's files as the gateway serves them: ``/`` is index.html, modules under
``/web/``, each with its ETag (an unchanged file is a 304 without a body), gzip for
clients that accept it, a Content-Security-Policy of this origin only, and nothing
outside the folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from marketscope_gateway.web import WEB_ROOT, content_security_policy, install_web


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    install_web(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        yield http


async def test_the_root_is_the_index_with_a_strict_policy(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text == (WEB_ROOT / "index.html").read_text()
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "connect-src 'self' ws://127.0.0.1:8000 wss://127.0.0.1:8000" in policy
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert (await client.get("/healthz")).json() == {"status": "ok"}  # routes stay


async def test_an_unchanged_file_is_a_304_and_text_is_gzipped(client: httpx.AsyncClient) -> None:
    first = await client.get("/web/app.js", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200
    assert first.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert first.headers["content-encoding"] == "gzip"
    assert int(first.headers["content-length"]) < (WEB_ROOT / "app.js").stat().st_size
    assert first.text == (WEB_ROOT / "app.js").read_text()
    again = await client.get("/web/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    plain = await client.get("/web/app.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    head = await client.head("/")
    assert head.status_code == 200
    assert head.content == b""


async def test_nothing_outside_the_folder_is_served(client: httpx.AsyncClient) -> None:
    for path in ("/web/../pyproject.toml", "/web/%2e%2e/pyproject.toml", "/web/missing.js"):
        assert (await client.get(path)).status_code == 404, path


def test_a_host_that_is_no_host_adds_no_source() -> None:
    assert "ws://" not in content_security_policy("evil.com; script-src *")
    assert "connect-src 'self';" in content_security_policy(None)


async def test_without_the_folder_nothing_is_mounted(tmp_path: Path) -> None:
    app = FastAPI()
    install_web(app, root=tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/")).status_code == 404
