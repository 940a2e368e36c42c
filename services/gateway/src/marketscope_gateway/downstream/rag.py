"""rag's HTTP API as the gateway calls it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from marketscope_gateway.downstream.base import ServiceClient
from marketscope_servicekit import Identity

SERVICE = "rag"


class RagClient(ServiceClient):
    def __init__(self, client: httpx.AsyncClient, internal_key: str) -> None:
        super().__init__(SERVICE, client, internal_key)

    async def upload(
        self,
        identity: Identity,
        body: AsyncIterator[bytes],
        content_type: str,
        *,
        document_id: str | None = None,
    ) -> httpx.Response:
        """A new document, or a new version of ``document_id``. The multipart body is
        streamed through untouched: the gateway neither buffers nor re-encodes uploads
        (its body limit still counts every byte)."""
        method, path = (
            ("POST", "/documents") if document_id is None else ("PUT", f"/documents/{document_id}")
        )
        headers = {"Content-Type": content_type}
        return await self.send(method, path, identity, content=body, headers=headers)

    async def documents(self, identity: Identity) -> httpx.Response:
        return await self.send("GET", "/documents", identity)

    async def document(self, identity: Identity, document_id: str) -> httpx.Response:
        return await self.send("GET", f"/documents/{document_id}", identity)

    async def delete(self, identity: Identity, document_id: str) -> httpx.Response:
        return await self.send("DELETE", f"/documents/{document_id}", identity)

    async def search(self, identity: Identity, body: dict[str, Any]) -> httpx.Response:
        return await self.send("POST", "/search", identity, json=body)
