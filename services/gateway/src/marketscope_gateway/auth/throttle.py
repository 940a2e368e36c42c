"""Login throttling: failed logins are counted per account and per client IP in fixed
windows kept in the gateway's table, so every instance sees the same counts.

When either count reaches its limit, logins for that account (or from that IP) answer 429
with Retry-After until the window ends, whether the password is right or not; a
successful login clears the account's count.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from marketscope_gateway.errors import LoginThrottled
from marketscope_gateway.store import GatewayStore


class LoginThrottle:
    def __init__(
        self,
        store: GatewayStore,
        *,
        per_account: int,
        per_ip: int,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.per_account = per_account
        self.per_ip = per_ip
        self.window_seconds = window_seconds
        self._clock = clock

    def _window(self) -> tuple[int, float]:
        """The current window's number and the seconds left in it."""
        now = self._clock()
        window = int(now // self.window_seconds)
        return window, (window + 1) * self.window_seconds - now

    @staticmethod
    def _counters(email: str, ip: str) -> tuple[str, str]:
        return f"account#{email}", f"ip#{ip}"

    async def check(self, email: str, ip: str) -> None:
        window, left = self._window()
        account, address = self._counters(email, ip)
        if await self._store.failures(account, window) >= self.per_account:
            raise LoginThrottled("Too many failed logins for this account; try later.", left)
        if await self._store.failures(address, window) >= self.per_ip:
            raise LoginThrottled("Too many failed logins from this address; try later.", left)

    async def failed(self, email: str, ip: str) -> None:
        window, left = self._window()
        expires_at = int(self._clock() + left)
        for counter in self._counters(email, ip):
            await self._store.add_failure(counter, window, expires_at)

    async def succeeded(self, email: str) -> None:
        window, _ = self._window()
        await self._store.clear_failures(self._counters(email, "")[0], window)
