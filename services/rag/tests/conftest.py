"""Fixtures of the rag service's integration tests: the provisioned emulator and the
whole app (API, indexing consumer, outbox relay) running on a temporary Chroma path."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from marketscope_platform.aws import AwsSettings
from marketscope_rag.components import Components
from marketscope_rag.main import create_app
from marketscope_rag.settings import Settings
from marketscope_servicekit.testing import GatewaySigner, identity_headers, running

MAX_UPLOAD_BYTES = 200_000


def user() -> str:
    """A fresh user id: tests share the emulator's table and bucket."""
    return f"user-{uuid.uuid4().hex[:8]}"


@dataclass
class Rag:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def components(self) -> Components:
        components: Components = self.app.state.components
        return components

    def headers(self, user: str, *, admin: bool = False) -> dict[str, str]:
        # The client's GatewaySigner signs each request as the identity it names.
        return identity_headers(user, *(("user", "admin") if admin else ("user",)))

    async def upload(
        self,
        user: str,
        filename: str,
        data: bytes,
        content_type: str = "text/markdown",
        *,
        admin: bool = False,
        **form: str,
    ) -> httpx.Response:
        return await self.client.post(
            "/documents",
            headers=self.headers(user, admin=admin),
            files={"file": (filename, data, content_type)},
            data=form,
        )

    async def get(self, user: str, document_id: str) -> httpx.Response:
        return await self.client.get(f"/documents/{document_id}", headers=self.headers(user))

    async def search(self, user: str, query: str, **body: Any) -> httpx.Response:
        return await self.client.post(
            "/search", headers=self.headers(user), json={"query": query, **body}
        )

    async def wait_for(
        self, user: str, document_id: str, statuses: set[str], within: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            response = await self.get(user, document_id)
            assert response.status_code == 200, response.text
            document: dict[str, Any] = response.json()
            if document["status"] in statuses:
                return document
            if time.monotonic() > deadline:
                raise AssertionError(f"{document_id} stayed {document['status']}")
            await asyncio.sleep(0.2)


MakeRag = Callable[..., AbstractAsyncContextManager[Rag]]


@pytest.fixture
def make_rag(provisioned: str, aws_settings: AwsSettings, tmp_path: Path) -> MakeRag:
    """The running app with test settings, some of them overridden."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Rag]:
        values: dict[str, Any] = {
            "index_path": tmp_path / f"chroma-{uuid.uuid4().hex[:6]}",
            "poll_wait_seconds": 1,
            "max_upload_bytes": MAX_UPLOAD_BYTES,
            # The suite's apps share one table: only the reconcile tests reconcile.
            "reconcile_index_at_start": False,
            **overrides,
        }
        app = create_app(Settings(**values), aws_settings)
        async with running(app) as client:
            client.auth = GatewaySigner(app.state.internal_key)
            yield Rag(app, client)

    return make


@pytest.fixture
async def rag(make_rag: MakeRag) -> AsyncIterator[Rag]:
    async with make_rag() as running_rag:
        yield running_rag
