"""chat's HTTP API as the gateway calls it.

Conversations, analyses, usage and the model list are plain calls. A message and an
OpenAI-style completion are opened instead (`ServiceClient.open`): chat answers them
as a stream of server-sent events for as long as the model and its tools take, so the
call has no time limit on the whole answer, only ``idle_timeout`` between two reads.
"""

from __future__ import annotations

from typing import Any

import httpx

from marketscope_gateway.downstream.base import ServiceClient
from marketscope_servicekit import Identity
from marketscope_servicekit.calls import Params, segment

SERVICE = "chat"
# Bytes go to the client as they come off the socket: they must not be compressed.
STREAM_HEADERS = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
JSON_BODY = {"Content-Type": "application/json"}


class ChatClient(ServiceClient):
    def __init__(
        self,
        client: httpx.AsyncClient,
        internal_key: str,
        *,
        connect_timeout: float,
        idle_timeout: float,
    ) -> None:
        super().__init__(SERVICE, client, internal_key)
        # Connecting, sending and waiting for a pooled connection stay short; reading
        # may pause as long as a model call or a tool between two events.
        self.stream_timeouts = httpx.Timeout(connect_timeout, read=idle_timeout)

    async def create_conversation(self, identity: Identity, body: dict[str, Any]) -> httpx.Response:
        return await self.send("POST", "/conversations", identity, json=body)

    async def conversations(self, identity: Identity, params: Params) -> httpx.Response:
        return await self.send("GET", "/conversations", identity, params=params)

    async def conversation(self, identity: Identity, conversation_id: str) -> httpx.Response:
        return await self.send("GET", f"/conversations/{segment(conversation_id)}", identity)

    async def delete_conversation(self, identity: Identity, conversation_id: str) -> httpx.Response:
        return await self.send("DELETE", f"/conversations/{segment(conversation_id)}", identity)

    async def request_analysis(self, identity: Identity, body: bytes) -> httpx.Response:
        """``body`` as the client sent it: chat checks symbols and weights itself."""
        return await self.send("POST", "/analyses", identity, content=body, headers=JSON_BODY)

    async def analyses(self, identity: Identity, params: Params) -> httpx.Response:
        return await self.send("GET", "/analyses", identity, params=params)

    async def analysis(self, identity: Identity, analysis_id: str) -> httpx.Response:
        return await self.send("GET", f"/analyses/{segment(analysis_id)}", identity)

    async def cancel_analysis(self, identity: Identity, analysis_id: str) -> httpx.Response:
        return await self.send("DELETE", f"/analyses/{segment(analysis_id)}", identity)

    async def usage(self, identity: Identity) -> httpx.Response:
        return await self.send("GET", "/usage", identity)

    async def models(self, identity: Identity) -> httpx.Response:
        return await self.send("GET", "/openai/v1/models", identity)

    async def post_message(
        self, identity: Identity, conversation_id: str, body: bytes, accept: str | None
    ) -> httpx.Response:
        """Opened: an event stream, or one JSON answer when ``accept`` asks for it, or a
        problem before anything streamed. The caller closes it."""
        headers = dict(STREAM_HEADERS)
        if accept:
            headers["Accept"] = accept
        path = f"/conversations/{segment(conversation_id)}/messages"
        return await self.open(
            "POST", path, identity, content=body, headers=headers, timeouts=self.stream_timeouts
        )

    async def complete(self, identity: Identity, body: bytes) -> httpx.Response:
        """Opened: chat streams when the body says ``"stream": true``. The caller closes it."""
        return await self.open(
            "POST",
            "/openai/v1/chat/completions",
            identity,
            content=body,
            headers=STREAM_HEADERS,
            timeouts=self.stream_timeouts,
        )
