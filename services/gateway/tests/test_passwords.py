"""Password hashing is bounded: never more than ``concurrency`` hashes or checks at once,
each in a worker thread so the event loop stays free."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Literal

from argon2 import PasswordHasher

from marketscope_gateway.auth.passwords import Passwords, default_hashing_concurrency


class InstrumentedHasher(PasswordHasher):
    """A cheap argon2 hasher that records how many of its calls overlap, and where."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self._lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.threads: set[int] = set()

    def _measured(self) -> None:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.threads.add(threading.get_ident())
        time.sleep(0.02)  # long enough for unbounded calls to overlap
        with self._lock:
            self.running -= 1

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self._measured()
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self._measured()
        return super().verify(hash, password)


async def test_hashes_and_checks_never_exceed_the_bound() -> None:
    hasher = InstrumentedHasher()
    passwords = Passwords(hasher, concurrency=2)
    stored = await passwords.hash("correct horse battery")
    hashes = [passwords.hash(f"password number {n}") for n in range(8)]
    checks = [passwords.verify(stored, "correct horse battery") for _ in range(8)]
    burns = [passwords.burn("guess") for _ in range(4)]
    results = await asyncio.gather(*hashes, *checks, *burns)
    assert hasher.most_at_once == 2
    assert results[8:16] == [True] * 8
    assert threading.get_ident() not in hasher.threads  # never on the event loop's thread


async def test_the_event_loop_answers_while_hashes_wait() -> None:
    passwords = Passwords(InstrumentedHasher(), concurrency=1)
    work = asyncio.gather(*(passwords.hash(f"password number {n}") for n in range(10)))
    started = time.perf_counter()
    await asyncio.sleep(0)  # another coroutine gets the loop while ten hashes queue
    assert time.perf_counter() - started < 0.05
    await work


def test_the_default_bound_leaves_a_core_to_the_event_loop() -> None:
    assert Passwords().concurrency == default_hashing_concurrency() >= 1
