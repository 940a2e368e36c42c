"""The benchmark's user, made through the gateway as a client would: registered, logged
in, with the watchlist the questions name and one short note for the document
questions to find, indexed before any turn is timed."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import httpx

PASSWORD = "benchmark password 1"
INDEXED_SECONDS = 120.0
NOTE = """# Risk notes

Drawdown is the fall from a peak to the following trough. A deep maximum drawdown means
a long road back: a fall of half needs a doubling to recover.

A Sharpe ratio above one is usually called good: the excess return is larger than the
volatility taken to earn it. Sortino counts only the downside volatility.

RSI above seventy is read as overbought and below thirty as oversold; it says nothing
about where the price goes next.

Volatility is the annualised standard deviation of daily returns. It rises in sell-offs,
so a quiet year says little about the next one.
"""


@dataclass(frozen=True)
class User:
    user_id: str
    auth: dict[str, str]  # the bearer token, as a header


async def sign_up(gateway: httpx.AsyncClient, email: str | None = None) -> User:
    """A new account (``email``, or a random one), logged in."""
    email = email or f"bench-chat-{uuid.uuid4().hex[:12]}@example.com"
    account = {"email": email, "password": PASSWORD}
    (await gateway.post("/api/v1/auth/register", json=account)).raise_for_status()
    deadline = time.monotonic() + 60
    while True:
        login = await gateway.post("/api/v1/auth/login", json=account)
        # 503 until the gateway has read its signing key from Secrets Manager.
        if login.status_code != 503 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    login.raise_for_status()
    tokens = login.json()
    return User(tokens["user"]["user_id"], {"Authorization": f"Bearer {tokens['access_token']}"})


async def save_watchlist(gateway: httpx.AsyncClient, user: User, symbols: list[str]) -> None:
    saved = await gateway.put("/api/v1/watchlist", json={"symbols": symbols}, headers=user.auth)
    saved.raise_for_status()


async def upload_note(gateway: httpx.AsyncClient, user: User) -> str:
    """The note's document id, once rag has indexed it."""
    files = {"file": ("risk-notes.md", NOTE.encode(), "text/markdown")}
    accepted = await gateway.post("/api/v1/documents", files=files, headers=user.auth)
    accepted.raise_for_status()
    document_id = str(accepted.json()["document_id"])
    deadline = time.monotonic() + INDEXED_SECONDS
    while True:
        read = await gateway.get(f"/api/v1/documents/{document_id}", headers=user.auth)
        read.raise_for_status()
        status = read.json()["status"]
        if status == "indexed":
            return document_id
        if status == "failed" or time.monotonic() > deadline:
            raise RuntimeError(f"the note was not indexed: {read.json()}")
        await asyncio.sleep(0.2)


async def new_conversation(client: httpx.AsyncClient, path: str, auth: dict[str, str]) -> str:
    created = await client.post(path, json={"title": "benchmark"}, headers=auth)
    created.raise_for_status()
    return str(created.json()["id"])
