"""rag's HTTP API as the gateway calls it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from marketscope_gateway.downstream.base import ServiceClient
from marketscope_gateway.downstream.spooled import SpooledBody
from marketscope_servicekit import Identity
from marketscope_servicekit.calls import segment

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
        passed on as it came, never re-encoded; it is read to its end first (spooled to
        disk beyond a megabyte: `SpooledBody`) because the signature covers its digest.
        The gateway's body limit still counts every byte."""
        method, path = (
            ("POST", "/documents")
            if document_id is None
            else ("PUT", f"/documents/{segment(document_id)}")
        )
        headers = {"Content-Type": content_type}
        with await SpooledBody.read(body) as spooled:
            return await self.send(method, path, identity, body=spooled, headers=headers)

    async def documents(self, identity: Identity) -> httpx.Response:
        return await self.send("GET", "/documents", identity)

    async def document(self, identity: Identity, document_id: str) -> httpx.Response:
        return await self.send("GET", f"/documents/{segment(document_id)}", identity)

    async def delete(self, identity: Identity, document_id: str) -> httpx.Response:
        return await self.send("DELETE", f"/documents/{segment(document_id)}", identity)

    async def search(self, identity: Identity, body: dict[str, Any]) -> httpx.Response:
        return await self.send("POST", "/search", identity, json=body)
