"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile).

One hash or check costs about 190 ms of CPU and 64 MiB by design. Each runs in a worker
thread, so the event loop is never blocked, and at most ``concurrency`` of them run at
once (the others wait their turn): unbounded, two dozen registrations at once took every
core and every other request of the instance waited behind them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from functools import cached_property
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

Result = TypeVar("Result")


def default_hashing_concurrency() -> int:
    """One hash at a time per core the process may use, less one core left to the event
    loop (and at least one)."""
    if hasattr(os, "sched_getaffinity"):  # the cores this process may run on (Linux)
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


class Passwords:
    def __init__(
        self, hasher: PasswordHasher | None = None, *, concurrency: int | None = None
    ) -> None:
        self._hasher = hasher or PasswordHasher()
        self.concurrency = concurrency or default_hashing_concurrency()
        self._slots = asyncio.Semaphore(self.concurrency)

    async def _in_worker(self, work: Callable[[], Result]) -> Result:
        async with self._slots:
            return await asyncio.to_thread(work)

    async def hash(self, password: str) -> str:
        return await self._in_worker(lambda: self._hasher.hash(password))

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._in_worker(lambda: self._verify(password_hash, password))

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    @cached_property
    def _decoy(self) -> str:
        return self._hasher.hash("decoy password for unknown accounts")

    async def burn(self, password: str) -> None:
        """Spend the time a real check takes, so unknown emails answer as slowly as
        known ones (no account enumeration by timing)."""
        decoy = await self._in_worker(lambda: self._decoy)
        await self.verify(decoy, password)
