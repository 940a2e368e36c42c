"""The running stack that cross-service tests use (the authorization matrix, the chat
contract through the gateway): the real gateway, chat, market-data, rag and notifier apps,
each behind its own uvicorn server on a loopback port, on the provisioned emulator; two
accounts, A and B, registered and logged in through the gateway's REST API, and their
private resources made through it too. The chat service runs the offline engine."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from marketscope_chat.main import create_app as create_chat
from marketscope_chat.settings import Settings as ChatSettings
from marketscope_gateway.main import create_app as create_gateway
from marketscope_gateway.settings import Settings as GatewaySettings
from marketscope_market_data.main import create_app as create_market_data
from marketscope_market_data.settings import Settings as MarketDataSettings
from marketscope_notifier.main import create_app as create_notifier
from marketscope_notifier.settings import Settings as NotifierSettings
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_platform.queues import queue_url
from marketscope_platform.topology import SERVICES
from marketscope_rag.main import create_app as create_rag
from marketscope_rag.settings import Settings as RagSettings
from marketscope_servicekit.testing import served

PASSWORD = "correct horse battery staple"
# The stack's admin: registered by the first test that needs one (the account persists
# for the session in the emulator's table).
ADMIN_EMAIL = "ops-admin@example.com"
READY_SECONDS = 60.0
INDEXED_SECONDS = 60.0
# Every trace sampled: tests/tracing reads whole traces back, of which the services'
# default (X-Ray's rule: one a second, then 5 % of the rest) would send only some.
SAMPLE_EVERY_TRACE = 1.0
# The stack fixture lives in the session's event loop: so do the tests that use it.
in_stack_loop = pytest.mark.asyncio(loop_scope="session")


@dataclass(frozen=True)
class Account:
    email: str
    user_id: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass(frozen=True)
class Document:
    """A document as its owner uploaded it, and what identifies it."""

    document_id: str
    filename: str
    content: bytes
    marker: str  # a word found in this document only
    version_id: str | None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Resources:
    """What one account owns: documents (``note`` indexed and searchable; ``probe`` for
    another user to upload the same bytes) and a watchlist."""

    note: Document
    probe: Document
    watchlist: tuple[str, ...]

    def secrets(self, account: Account) -> set[str]:
        """Values no other user may ever see in an answer."""
        return {
            account.user_id,
            account.email,
            self.note.document_id,
            self.note.filename,
            self.note.marker,
            self.note.sha256,
            self.probe.document_id,
            self.probe.filename,
            # Not the probe's bytes: another user may upload them as their own.
        }


@dataclass(frozen=True)
class Api:
    """The gateway's REST API as its users call it."""

    client: httpx.AsyncClient

    async def register(self, label: str) -> Account:
        email = f"{label}-{uuid.uuid4().hex[:12]}@example.com"
        credentials = {"email": email, "password": PASSWORD}
        registered = await self.client.post("/api/v1/auth/register", json=credentials)
        assert registered.status_code == 201, registered.text
        login = await self.client.post("/api/v1/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        return Account(email, registered.json()["user_id"], login.json()["access_token"])

    async def upload(self, owner: Account, filename: str, text: str, marker: str) -> Document:
        content = text.encode()
        response = await self.client.post(
            "/api/v1/documents",
            headers=owner.headers,
            files={"file": (filename, content, "text/markdown")},
            data={"tags": "research"},
        )
        assert response.status_code == 202, response.text
        accepted = response.json()
        return Document(accepted["document_id"], filename, content, marker, accepted["version_id"])

    async def wait_indexed(self, owner: Account, document_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + INDEXED_SECONDS
        while True:
            response = await self.client.get(
                f"/api/v1/documents/{document_id}", headers=owner.headers
            )
            assert response.status_code == 200, response.text
            document: dict[str, Any] = response.json()
            if document["status"] == "indexed":
                return document
            assert document["status"] in {"uploaded", "indexing"}, document
            if time.monotonic() > deadline:
                raise AssertionError(f"{document_id} stayed {document['status']}")
            await asyncio.sleep(0.2)

    async def make_resources(self, owner: Account, label: str, symbols: list[str]) -> Resources:
        note_marker = f"{label}note{secrets.token_hex(6)}"
        note = await self.upload(
            owner,
            f"{label}-private-{secrets.token_hex(4)}.md",
            f"# {label}'s private AAPL stock analysis\n\n"
            f"Apple margins and services revenue, codename {note_marker}. "
            "The stock analysis covers buybacks, valuation and risk.\n",
            note_marker,
        )
        probe_marker = f"{label}probe{secrets.token_hex(6)}"
        probe = await self.upload(
            owner,
            f"{label}-probe-{secrets.token_hex(4)}.md",
            f"# Probe\n\nBytes another user will upload too: {probe_marker}.\n",
            probe_marker,
        )
        saved = await self.client.put(
            "/api/v1/watchlist", headers=owner.headers, json={"symbols": symbols}
        )
        assert saved.status_code == 200, saved.text
        await self.wait_indexed(owner, note.document_id)
        return Resources(note, probe, tuple(symbols))


@dataclass(frozen=True)
class Stack:
    aws_settings: AwsSettings
    api: Api
    ws_url: str
    chat_url: str
    a: Account
    b: Account
    a_owns: Resources
    b_owns: Resources

    @property
    def client(self) -> httpx.AsyncClient:
        return self.api.client


async def wait_ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while (ready := await client.get("/readyz")).status_code != 200:
        if time.monotonic() > deadline:
            raise AssertionError(f"the gateway never became ready: {ready.text}")
        await asyncio.sleep(0.2)


async def purge_service_queues(aws_settings: AwsSettings) -> None:
    """Start the stack's consumers on empty queues, as on a fresh emulator: what the
    shared queues hold is what earlier tests of the session published and nobody
    consumed, which the stack's services would first work through for minutes."""
    async with AwsClients(aws_settings) as aws:
        sqs = await aws.client("sqs")
        for service in SERVICES.values():
            if service.queue is not None and not service.per_instance_queue:
                await sqs.purge_queue(QueueUrl=await queue_url(sqs, service.queue))


@asynccontextmanager
async def running_stack(aws_settings: AwsSettings, index_path: Path) -> AsyncIterator[Stack]:
    """market-data and rag served on loopback ports, the gateway in front of them over
    HTTP; A and B with their resources."""
    await purge_service_queues(aws_settings)
    async with AsyncExitStack() as started:
        market_data_url = await started.enter_async_context(
            served(
                create_market_data(
                    MarketDataSettings(
                        live_refresh=False,
                        embedded_scheduler=False,
                        trace_sampling_rate=SAMPLE_EVERY_TRACE,
                    ),
                    aws_settings,
                )
            )
        )
        rag_url = await started.enter_async_context(
            served(
                create_rag(
                    RagSettings(
                        index_path=index_path,
                        poll_wait_seconds=1,
                        reconcile_index_at_start=False,
                        trace_sampling_rate=SAMPLE_EVERY_TRACE,
                    ),
                    aws_settings,
                )
            )
        )
        notifier_url = await started.enter_async_context(
            served(
                create_notifier(
                    # Webhook receivers in tests listen on loopback.
                    NotifierSettings(
                        webhook_allow_networks=["127.0.0.0/8"],
                        trace_sampling_rate=SAMPLE_EVERY_TRACE,
                    ),
                    aws_settings,
                )
            )
        )
        chat_url = await started.enter_async_context(
            served(
                create_chat(
                    ChatSettings(
                        market_data_url=market_data_url,
                        rag_url=rag_url,
                        trace_sampling_rate=SAMPLE_EVERY_TRACE,
                    ),
                    aws_settings,
                )
            )
        )
        gateway = create_gateway(
            GatewaySettings(
                chat_url=chat_url,
                market_data_url=market_data_url,
                rag_url=rag_url,
                notifier_url=notifier_url,
                instance_id=f"security-{uuid.uuid4().hex[:10]}",
                # Every test registers from 127.0.0.1 into the run's one emulator table:
                # the per-address registration limit is not what this suite checks.
                registrations_per_ip=1_000_000,
                # Whoever registers with it is an admin (the ops pages, ops notices).
                admin_emails=frozenset({ADMIN_EMAIL}),
                # The stack's accounts sign in once and live for the whole session (a
                # CI run's tests reach them 20 minutes in): the longest lifetime allowed.
                access_token_minutes=60,
                trace_sampling_rate=SAMPLE_EVERY_TRACE,
            ),
            aws_settings,
        )
        gateway_url = await started.enter_async_context(served(gateway))
        client = await started.enter_async_context(
            httpx.AsyncClient(base_url=gateway_url, timeout=30.0)
        )
        await wait_ready(client)
        await asyncio.wait_for(gateway.state.components.live_feed.subscribed.wait(), 30)
        api = Api(client)
        a, b = await api.register("alice"), await api.register("bob")
        a_owns, b_owns = await asyncio.gather(
            api.make_resources(a, "alice", ["IBM", "MSFT"]),
            api.make_resources(b, "bob", ["GOOG"]),
        )
        ws_url = gateway_url.replace("http://", "ws://") + "/ws"
        yield Stack(aws_settings, api, ws_url, chat_url, a, b, a_owns, b_owns)
