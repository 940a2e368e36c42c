"""``/api/v1/auth/*``, ``/api/v1/me`` and the admin role grants."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from marketscope_gateway.api.deps import Admin, Caller, Gateway
from marketscope_gateway.auth.cookie import (
    HEADER,
    clear_refresh_cookie,
    cleared_on_refusal,
    cookie_token,
    set_refresh_cookie,
    wants_cookie,
)
from marketscope_gateway.auth.service import Session
from marketscope_gateway.auth.tokens import TokenCodec
from marketscope_gateway.edge import client_ip
from marketscope_gateway.errors import (
    EmailTaken,
    Forbidden,
    InvalidCredentials,
    InvalidToken,
    LoginThrottled,
    RegistrationThrottled,
    UserNotFound,
)
from marketscope_gateway.schemas import Credentials, RefreshRequest, Tokens, User
from marketscope_gateway.store import UserRecord
from marketscope_servicekit.openapi_problems import problem_responses

router = APIRouter(prefix="/api/v1", tags=["accounts"])
UserId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
ROLE_GRANT = problem_responses(Forbidden, UserNotFound)


def _user(record: UserRecord, roles: frozenset[str]) -> User:
    return User(
        user_id=record.user_id,
        email=record.email,
        roles=sorted(roles),  # type: ignore[arg-type]  # roles are only ever these two
        created_at=datetime.fromtimestamp(record.created_at, UTC),
    )


def _tokens(session: Session, tokens: TokenCodec, request: Request, response: Response) -> Tokens:
    # A session is issued just now: its tokens have their whole lifetimes ahead.
    in_cookie = wants_cookie(request)
    if in_cookie:
        set_refresh_cookie(request, response, session.refresh_token, tokens.refresh_ttl)
    return Tokens(
        access_token=session.access_token,
        expires_in=tokens.access_ttl,
        refresh_token=None if in_cookie else session.refresh_token,
        refresh_expires_in=tokens.refresh_ttl,
        user=_user(session.user, session.roles),
    )


def _presented(body: RefreshRequest | None, request: Request) -> str:
    """The refresh token of the body, or else the cookie's (with the header that allows
    it: see auth/cookie.py)."""
    if body is not None:
        return body.refresh_token
    token = cookie_token(request) if wants_cookie(request) else None
    if token is None:
        raise InvalidToken(
            f"No refresh token: send it in the body, or send {HEADER}: 1 with the cookie "
            "a login with that header set."
        )
    return token


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(EmailTaken, RegistrationThrottled),
)
async def register(body: Credentials, request: Request, gateway: Gateway) -> User:
    """Create an account with the user role (admin is granted, never chosen). The email
    is kept in its canonical form (NFKC, case-folded); control and invisible formatting
    characters are refused (422). Registrations are limited per client IP (429)."""
    record = await gateway.auth.register(body.email, body.password, client_ip(request.scope))
    return _user(record, gateway.auth.roles_of(record))


@router.post("/auth/login", responses=problem_responses(InvalidCredentials, LoginThrottled))
async def login(
    body: Credentials, request: Request, response: Response, gateway: Gateway
) -> Tokens:
    """Exchange email and password for an access token (15 min) and a refresh token.
    Repeated failures are throttled (429): per account and client IP, per account with
    growing delays for the IPs that failed, and per client IP. With `X-Refresh-Cookie: 1`
    the refresh token is set as an HttpOnly, SameSite=Strict cookie instead of returned."""
    session = await gateway.auth.login(body.email, body.password, client_ip(request.scope))
    return _tokens(session, gateway.auth.tokens, request, response)


@router.post("/auth/refresh", responses=problem_responses(InvalidToken))
async def refresh(
    request: Request, response: Response, gateway: Gateway, body: RefreshRequest | None = None
) -> Tokens:
    """Rotate: the refresh token presented is spent; using it again revokes the session.
    Without a body, `X-Refresh-Cookie: 1` presents the cookie's token, and the new one
    replaces it (a refused cookie is cleared)."""
    with cleared_on_refusal(request) if body is None else nullcontext():
        session = await gateway.auth.refresh(_presented(body, request))
    return _tokens(session, gateway.auth.tokens, request, response)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(InvalidToken),
)
async def logout(
    request: Request, response: Response, gateway: Gateway, body: RefreshRequest | None = None
) -> None:
    """End the session the refresh token belongs to (the body's, or with
    `X-Refresh-Cookie: 1` the cookie's, which is cleared)."""
    if body is not None:
        await gateway.auth.logout(body.refresh_token)
        return
    with cleared_on_refusal(request):
        await gateway.auth.logout(_presented(body, request))
    clear_refresh_cookie(request, response)


@router.get("/me", responses=problem_responses(UserNotFound))
async def me(caller: Caller, gateway: Gateway) -> User:
    record = await gateway.auth.user(caller.user_id)
    return _user(record, gateway.auth.roles_of(record))


@router.put("/admin/users/{user_id}/roles/admin", responses=ROLE_GRANT)
async def grant_admin(user_id: UserId, _: Admin, gateway: Gateway) -> User:
    """Grant the admin role (admins only); it shows in the user's next access token."""
    record = await gateway.auth.set_role(user_id, "admin", granted=True)
    return _user(record, gateway.auth.roles_of(record))


@router.delete("/admin/users/{user_id}/roles/admin", responses=ROLE_GRANT)
async def revoke_admin(user_id: UserId, _: Admin, gateway: Gateway) -> User:
    record = await gateway.auth.set_role(user_id, "admin", granted=False)
    return _user(record, gateway.auth.roles_of(record))
