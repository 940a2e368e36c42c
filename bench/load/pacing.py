"""Requests at a fixed rate, open loop: each is sent at its scheduled moment whether or
not the ones before it have answered, so a slow server shows as latency (and requests in
flight), not as a lower rate the client quietly settled for."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx
from mix import (
    CONVERSATION_ROUTE,
    ROUTES,
    Conversation,
    LoadUser,
    Route,
    failure_of,
    pick_route,
    send,
    start_conversation,
)

MAX_IN_FLIGHT = 500


@dataclass
class RouteFigures:
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


@dataclass
class LoadFigures:
    planned: int = 0
    sent: int = 0
    late_starts: int = 0  # sent over 100 ms after their moment (the client fell behind)
    most_in_flight: int = 0
    routes: dict[str, RouteFigures] = field(default_factory=lambda: defaultdict(RouteFigures))

    @property
    def errors(self) -> int:
        return sum(sum(route.errors.values()) for route in self.routes.values())


async def run_at_rate(
    client: httpx.AsyncClient,
    users: Sequence[LoadUser],
    *,
    rate: float,
    seconds: float,
    seed: int,
    on_second: Callable[[int, LoadFigures], None] | None = None,
) -> LoadFigures:
    """``rate`` requests per second for ``seconds``, from the mix, spread over ``users``."""
    rng = random.Random(seed)
    figures = LoadFigures(planned=int(rate * seconds))
    in_flight: set[asyncio.Task[None]] = set()

    async def timed(route: Route, call: Callable[[], Awaitable[httpx.Response]]) -> bool:
        started = time.perf_counter()
        try:
            response = await call()
            problem = failure_of(route, response)
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        figures.routes[route.name].latencies_ms.append((time.perf_counter() - started) * 1000)
        if problem is not None:
            figures.routes[route.name].errors[problem[:120]] += 1
        return problem is None

    async def one(index: int) -> None:
        route = pick_route(rng)
        user = users[index % len(users)]
        if route is not ROUTES[3]:
            await timed(route, lambda: send(client, route, user, rng))
            return
        conversation = user.take_conversation()
        if conversation is None:
            conversation = await timed_start(user)
            if conversation is None:
                return
        turn = conversation
        if await timed(route, lambda: send(client, route, user, rng, turn)):
            user.give_back(conversation)  # not after a failure: the turn may still run

    async def timed_start(user: LoadUser) -> Conversation | None:
        created: Conversation | None = None

        async def call() -> httpx.Response:
            nonlocal created
            response, created = await start_conversation(client, user)
            return response

        await timed(CONVERSATION_ROUTE, call)
        return created

    begin = time.perf_counter()
    reported = 0
    for index in range(figures.planned):
        moment = begin + index / rate
        delay = moment - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.1:
            figures.late_starts += 1
        while len(in_flight) >= MAX_IN_FLIGHT:
            await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(one(index))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        figures.sent += 1
        figures.most_in_flight = max(figures.most_in_flight, len(in_flight))
        second = int(time.perf_counter() - begin)
        if on_second is not None and second > reported:
            reported = second
            on_second(second, figures)
    if in_flight:
        await asyncio.wait(in_flight)
    return figures
