"""Guards around a provider that can stall or fail: a hard per-call timeout on a bounded
thread pool, retries with exponential backoff and full jitter, and a circuit breaker
(``purgatory``) that opens after repeated failures and half-opens to probe recovery."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

from marketscope_market_data.errors import ProviderUnavailable, SymbolNotFound

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class TransientProviderError(Exception):
    """A failure worth retrying (network, timeout, rate limit)."""


def backoff_delay(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return float(rand() * min(cap, base * 2**attempt))


class ProviderGuard:
    """Runs blocking provider calls with a timeout, retries and a circuit breaker."""

    def __init__(
        self,
        provider: str,
        *,
        timeout: float,
        retries: int,
        breaker_threshold: int,
        breaker_reset_seconds: float,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_threads: int = 4,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self._timeout = timeout
        self._retries = retries
        self._reset_seconds = breaker_reset_seconds
        self._backoff = (backoff_base, backoff_cap)
        self._sleep = sleep
        self._rand = rand
        # A stalled call keeps its thread; a small own pool bounds how many can pile up
        # and keeps the event loop's default executor free for everyone else.
        self._pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix=provider)
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=breaker_threshold,
            default_ttl=breaker_reset_seconds,
            exclude=[SymbolNotFound],
        )

    async def call(self, function: Callable[[], T]) -> T:
        breaker = await self._breakers.get_breaker(self.provider)
        try:
            async with breaker:
                return await self._with_retries(function)
        except OpenedState as exc:
            raise ProviderUnavailable(
                self.provider, "circuit breaker is open", retry_after=int(self._reset_seconds)
            ) from exc

    async def breaker_state(self) -> str:
        return (await self._breakers.get_breaker(self.provider)).context.state

    async def _with_retries(self, function: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                return await self._once(function)
            except TransientProviderError as exc:
                if attempt >= self._retries:
                    raise ProviderUnavailable(self.provider, str(exc)) from exc
                await self._sleep(backoff_delay(attempt, *self._backoff, self._rand))
                attempt += 1

    async def _once(self, function: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, partial(function))
        try:
            return await asyncio.wait_for(future, timeout=self._timeout)
        except TimeoutError as exc:
            raise TransientProviderError(f"no answer within {self._timeout:g} s") from exc

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
