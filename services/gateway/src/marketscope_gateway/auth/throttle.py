"""Throttles on logins and registrations, so guessing passwords or making accounts costs
the attacker, never the account's owner.

Counters live in the gateway's table, in fixed windows, so every instance sees the same
numbers. A refused attempt answers 429 with Retry-After, checks no password and counts
nowhere. For a login of account A from address X:

1. **The pair (A, X), strictly.** Each attempt is counted before its password is checked
   (atomically, so a burst of parallel attempts cannot get past the limit together), a
   successful login clears the count. At ``per_account_address`` (5) unsuccessful
   attempts in the window, X gets 429 for A until the window ends, whether the password
   is right or not. Nobody else is affected: an address that has not failed for A is
   never refused because others have.
2. **The account, with growing delays.** Failures for A from every address are counted
   too. Past ``backoff_after`` (10) of them in the window, each further failure makes
   the next attempt wait ``backoff_base * 2 ** (failures - backoff_after)`` seconds, at
   most ``backoff_max`` (30 s), after it. The wait holds for the addresses that have
   already failed for A in the window (whose guesses it slows); an address's first
   attempt at A is never delayed, so the right password from a clean address always
   gets through. A distributed guesser gets one try per fresh address, which the next
   limit bounds.
3. **The address, across accounts.** Failures from X against any account are counted;
   at ``per_address`` (20) in the window X gets 429 for every account until the window
   ends (credential stuffing). Only an address that has failed that often is refused;
   behind a shared NAT its other users are too, so the limit is set for that. This
   count is read before the attempt and added after it, so parallel attempts may
   overshoot it by as many as are in flight (each still held by its pair's limit).

Registrations are counted per address before the password is hashed (every attempt that
would hash counts, an email already taken included): at ``per_address`` (5) in the window
(10 min) the address gets 429 until the window ends.

The client address is what the server saw (``request.client.host``): forwarded headers
are honoured only from the proxies the server is configured to trust.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from marketscope_gateway.errors import LoginThrottled, RegistrationThrottled
from marketscope_gateway.store import CounterValue, GatewayStore


@dataclass(frozen=True)
class Window:
    number: int
    seconds_left: float
    ends_at: int


class FixedWindows:
    def __init__(self, seconds: int, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self._clock = clock

    def current(self) -> Window:
        now = self._clock()
        number = int(now // self.seconds)
        ends_at = (number + 1) * self.seconds
        return Window(number, ends_at - now, ends_at)


@dataclass(frozen=True)
class LoginBackoff:
    """The account-wide delay after many failures: none up to ``after`` failures, then
    ``base_seconds`` doubling with each further failure, at most ``max_seconds``."""

    after: int
    base_seconds: float
    max_seconds: float

    def delay(self, failures: int) -> float:
        if failures < self.after:
            return 0.0
        return min(self.base_seconds * 2.0 ** (failures - self.after), self.max_seconds)

    def wait(self, account: CounterValue, now: float) -> float:
        """Seconds an already-failed address must still wait before trying again."""
        if account.last_at is None:
            return 0.0
        return max(0.0, account.last_at + self.delay(account.count) - now)


@dataclass(frozen=True)
class LoginAttempt:
    """One admitted login: tell it how the password check went (it is counted in the
    window it was admitted in)."""

    throttle: LoginThrottle
    email: str
    address: str
    window: Window

    async def failed(self) -> None:
        await self.throttle.record_failure(self.email, self.address, self.window)

    async def succeeded(self) -> None:
        await self.throttle.record_success(self.email, self.address, self.window)


class LoginThrottle:
    def __init__(
        self,
        store: GatewayStore,
        *,
        per_account_address: int,
        per_address: int,
        backoff: LoginBackoff,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.per_account_address = per_account_address
        self.per_address = per_address
        self.backoff = backoff
        self._windows = FixedWindows(window_seconds, clock)
        self._clock = clock

    @staticmethod
    def _pair(email: str, address: str) -> str:
        # The address first: it has no "#", so the name cannot be read two ways.
        return f"login#pair#{address}#{email}"

    @staticmethod
    def _account(email: str) -> str:
        return f"login#account#{email}"

    @staticmethod
    def _address(address: str) -> str:
        return f"login#address#{address}"

    async def admit(self, email: str, address: str) -> LoginAttempt:
        """Count the attempt of ``address`` at ``email``, or raise LoginThrottled (429)."""
        window = self._windows.current()
        failures_here = await self._store.count(self._address(address), window.number)
        if failures_here.count >= self.per_address:
            raise LoginThrottled(
                "Too many failed logins from this address; try later.", window.seconds_left
            )
        attempts = await self._store.increment(
            self._pair(email, address),
            window.number,
            at=self._clock(),
            expires_at=window.ends_at,
            below=self.per_account_address,
        )
        if attempts is None:
            raise LoginThrottled(
                "Too many failed logins for this account from this address; try later.",
                window.seconds_left,
            )
        if attempts > 1:  # this address has failed for this account in the window
            account = await self._store.count(self._account(email), window.number)
            wait = self.backoff.wait(account, self._clock())
            if wait > 0:
                await self._store.decrement(self._pair(email, address), window.number)
                raise LoginThrottled(
                    "This account had many failed logins; wait before trying again.", wait
                )
        return LoginAttempt(self, email, address, window)

    async def record_failure(self, email: str, address: str, window: Window) -> None:
        # The pair's count already holds this attempt (admit counted it).
        now = self._clock()
        await asyncio.gather(
            self._store.increment(
                self._account(email), window.number, at=now, expires_at=window.ends_at
            ),
            self._store.increment(
                self._address(address), window.number, at=now, expires_at=window.ends_at
            ),
        )

    async def record_success(self, email: str, address: str, window: Window) -> None:
        await self._store.clear(self._pair(email, address), window.number)


class RegistrationThrottle:
    def __init__(
        self,
        store: GatewayStore,
        *,
        per_address: int,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.per_address = per_address
        self._windows = FixedWindows(window_seconds, clock)
        self._clock = clock

    async def admit(self, address: str) -> None:
        """Count a registration from ``address``, or raise RegistrationThrottled (429)."""
        window = self._windows.current()
        counted = await self._store.increment(
            f"register#address#{address}",
            window.number,
            at=self._clock(),
            expires_at=window.ends_at,
            below=self.per_address,
        )
        if counted is None:
            raise RegistrationThrottled(
                "Too many registrations from this address; try later.", window.seconds_left
            )
