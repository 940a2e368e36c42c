"""What the load is made of: four REST routes a trader's client calls, in fixed shares,
each request built for one of the benchmark's users."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from bench.chat.account import User

# The offline replay provider's stocks that trade from its first day (services/market-data,
# providers/replay.py: FB has no quote before its 2012 listing).
SYMBOLS = ("AAPL", "MSFT", "IBM", "GOOG")
QUESTIONS = (
    "What is the price of {symbol}?",
    "How volatile has {symbol} been over the last year?",
    "Compare {symbol} and MSFT over six months",
    "What is the RSI of {symbol}?",
)
SEARCHES = (
    "maximum drawdown recovery",
    "{symbol} earnings and guidance",
    "what does a Sharpe ratio above one mean",
    "RSI overbought oversold",
)


@dataclass(frozen=True)
class Route:
    """One route of the mix: its name in the figures, its share of the requests."""

    name: str
    share: float


ROUTES = (
    Route("GET /api/v1/quotes/{symbol}", 0.40),
    Route("GET /api/v1/stocks/{symbol}/overview", 0.25),
    Route("POST /api/v1/search", 0.25),
    Route("POST /api/v1/conversations/{id}/messages", 0.10),
)


CONVERSATION_ROUTE = Route("POST /api/v1/conversations", 0.0)
MESSAGES_PER_CONVERSATION = 10  # then the user starts a new one, as a trader would


@dataclass
class Conversation:
    id: str
    messages: int = 0


@dataclass
class LoadUser:
    """A benchmark account and its conversations not answering a turn right now: chat
    answers one turn of a conversation at a time (409 otherwise), so a turn picked while
    every conversation is busy opens another, as a trader opens a second tab."""

    user: User
    idle_conversations: list[Conversation] = field(default_factory=list)

    def take_conversation(self) -> Conversation | None:
        return self.idle_conversations.pop() if self.idle_conversations else None

    def give_back(self, conversation: Conversation) -> None:
        if conversation.messages < MESSAGES_PER_CONVERSATION:
            self.idle_conversations.append(conversation)


async def start_conversation(
    client: httpx.AsyncClient, user: LoadUser
) -> tuple[httpx.Response, Conversation | None]:
    created = await client.post(
        "/api/v1/conversations", json={"title": "load"}, headers=user.user.auth
    )
    conversation = Conversation(str(created.json()["id"])) if created.is_success else None
    return created, conversation


def pick_route(rng: random.Random) -> Route:
    return rng.choices(ROUTES, weights=[route.share for route in ROUTES])[0]


async def send(
    client: httpx.AsyncClient,
    route: Route,
    user: LoadUser,
    rng: random.Random,
    conversation: Conversation | None = None,
) -> httpx.Response:
    """One request of ``route`` for ``user`` (a chat turn in ``conversation``, which
    the caller took from the user's idle ones); the caller times it and judges the
    answer."""
    symbol = rng.choice(SYMBOLS)
    auth = user.user.auth
    if route is ROUTES[0]:
        return await client.get(f"/api/v1/quotes/{symbol}", headers=auth)
    if route is ROUTES[1]:
        return await client.get(f"/api/v1/stocks/{symbol}/overview", headers=auth)
    if route is ROUTES[2]:
        query = rng.choice(SEARCHES).format(symbol=symbol)
        return await client.post("/api/v1/search", json={"query": query, "k": 5}, headers=auth)
    if conversation is None:
        raise ValueError("a chat turn needs a conversation")
    question = rng.choice(QUESTIONS).format(symbol=symbol)
    conversation.messages += 1
    return await client.post(
        f"/api/v1/conversations/{conversation.id}/messages",
        json={"content": question},
        headers={**auth, "Accept": "application/json"},
    )


def failure_of(route: Route, response: httpx.Response) -> str | None:
    """Why an answer counts as an error, or None: any status but 2xx, and an overview
    with a part missing (it answers 200 with ``errors``)."""
    if not response.is_success:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if route is ROUTES[1]:
        errors = response.json().get("errors") or []
        if errors:
            return "overview parts failed: " + ", ".join(
                f"{e.get('part')} ({e.get('status')})" for e in errors
            )
    return None


def route_names() -> Sequence[str]:
    return [route.name for route in ROUTES]
