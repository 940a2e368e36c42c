"""The refresh token as an HttpOnly cookie, for browsers (the web app).

A client that sends ``X-Refresh-Cookie: 1`` with login, refresh or logout gets its refresh
token as a cookie no script can read, instead of in the body, and presents it the same
way: reloading the web app restores the session without the token ever being in the
page's reach. The cookie is ``SameSite=Strict`` and scoped to ``/api/v1/auth``, and the
header is required to use it: a cross-site form cannot set a header, and a cross-origin
script cannot send one without a CORS preflight the gateway never grants.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request, Response

from marketscope_servicekit.problems import ServiceError

COOKIE_NAME = "marketscope_refresh"
COOKIE_PATH = "/api/v1/auth"
HEADER = "X-Refresh-Cookie"


def wants_cookie(request: Request) -> bool:
    return request.headers.get(HEADER) == "1"


def cookie_token(request: Request) -> str | None:
    return request.cookies.get(COOKIE_NAME) or None


def set_refresh_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        # Plain HTTP on loopback (the embedded stack) cannot carry a Secure cookie.
        secure=request.url.scheme == "https",
    )


def clear_refresh_cookie(request: Request, response: Response) -> None:
    """Expire the cookie with the response."""
    response.delete_cookie(
        COOKIE_NAME,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@contextmanager
def cleared_on_refusal(request: Request) -> Iterator[None]:
    """A problem raised while the cookie's token is in use expires the cookie with it (a
    refused token is no use to keep)."""
    try:
        yield
    except ServiceError as problem:
        if wants_cookie(request) and cookie_token(request) is not None:
            expired = Response()
            clear_refresh_cookie(request, expired)
            problem.headers["set-cookie"] = expired.headers["set-cookie"]
        raise
