"""Dependencies shared by the routes: the gateway's components, the authenticated caller,
admin-only access, and relaying a service's answer to the client (and documenting it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from marketscope_gateway.auth.tokens import AccessClaims
from marketscope_gateway.components import Components
from marketscope_gateway.downstream.relayed import RelayedResponse
from marketscope_gateway.edge import CLAIMS_STATE
from marketscope_gateway.errors import (
    DownstreamError,
    DownstreamTimeout,
    DownstreamUnavailable,
    Forbidden,
    InvalidToken,
)
from marketscope_servicekit import ServiceError, components_of
from marketscope_servicekit.openapi_problems import problem_responses

# Dependencies are ``async def``: FastAPI runs plain ``def`` ones in a thread pool, a
# thread hand-off per request for a few dictionary lookups.
# auto_error=False: a missing token is our own 401 problem, not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="An access token from /api/v1/auth/login")
RELAYED_HEADERS = ("retry-after", "location", "cache-control")


async def started(connection: HTTPConnection) -> Components:
    """The gateway's components, or 503 ``not-started`` before start-up and after shutdown."""
    return components_of(connection, Components)


Gateway = Annotated[Components, Depends(started)]


async def authenticated(
    request: Request,
    gateway: Gateway,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims:
    """The caller's verified access token claims, or 401. Before start-up every route
    that needs a caller is 503, whatever its token."""
    claims: AccessClaims | None = getattr(request.state, CLAIMS_STATE, None)
    if claims is not None:
        return claims  # verified once already by the edge middleware
    if credentials is None:
        raise InvalidToken("An access token is required (Authorization: Bearer ...).")
    return gateway.tokens.read_access(credentials.credentials)


async def admin(claims: Annotated[AccessClaims, Depends(authenticated)]) -> AccessClaims:
    if "admin" not in claims.roles:
        raise Forbidden("This needs the admin role.")
    return claims


Caller = Annotated[AccessClaims, Depends(authenticated)]
Admin = Annotated[AccessClaims, Depends(admin)]


def relay(response: httpx.Response) -> Response:
    """A service's answer, as is: its status, body and content type (problem+json
    included, naming the gateway's path as its instance), with the headers a client
    may act on."""
    headers = {name: response.headers[name] for name in RELAYED_HEADERS if name in response.headers}
    return RelayedResponse(
        content=response.content,
        status_code=response.status_code,
        media_type=response.headers.get("content-type"),
        headers=headers,
    )


def relayed(
    *kinds: type[ServiceError] | int,
    answer: str = "The service's answer",
    success: int = 200,
    descriptions: Mapping[int, str] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` of a relayed route: the service's answer (JSON with
    status ``success``, no body for 204), the
    statuses of ``kinds`` that the service's route answers and the gateway relays, and
    what the gateway answers when the service fails (502), is unreachable or
    unavailable (503, also relayed) or too slow (504)."""
    content: dict[str, Any] = {} if success == 204 else {"content": {"application/json": {}}}
    return {
        success: {"description": answer, **content},
        **problem_responses(
            *kinds,
            DownstreamError,
            DownstreamUnavailable,
            DownstreamTimeout,
            descriptions={
                502: "The service failed",
                503: "The service is unreachable or unavailable (see Retry-After)",
                504: "The service did not answer in time",
                **(descriptions or {}),
            },
        ),
    }
