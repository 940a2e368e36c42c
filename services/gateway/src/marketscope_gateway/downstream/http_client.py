"""The HTTP client of one service behind the gateway: httpx's, keeping no cookie.

One client carries every user's calls to a service, so a cookie it kept from one answer
would go out with everyone's next requests; no service sets one, and none may count on
it. httpx's client looks for ``Set-Cookie`` in every answer all the same, building
urllib request and response stand-ins each time (a twentieth of the gateway's CPU on the
quote path): with no jar to fill, that work is gone too.
"""

from __future__ import annotations

import httpx


class _NoCookies(httpx.Cookies):
    """Always empty: what an answer sets is dropped, and nothing can be set."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        raise TypeError("a service client keeps no cookies")


class ServiceHttpClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` whose cookies are always none (so none are merged into a
    request either); setting some is refused rather than silently ignored."""

    _no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("a service client keeps no cookies")
