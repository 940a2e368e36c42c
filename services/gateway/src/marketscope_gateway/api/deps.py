"""Dependencies shared by the routes: the gateway's components, the authenticated caller,
admin-only access, and relaying a service's answer to the client."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from marketscope_gateway.auth.tokens import AccessClaims
from marketscope_gateway.components import Components
from marketscope_gateway.edge import CLAIMS_STATE
from marketscope_gateway.errors import Forbidden, InvalidToken
from marketscope_servicekit import components_of

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
    included), with the headers a client may act on."""
    headers = {name: response.headers[name] for name in RELAYED_HEADERS if name in response.headers}
    return Response(
        content=response.content,
        status_code=response.status_code,
        media_type=response.headers.get("content-type"),
        headers=headers,
    )


# OpenAPI of relayed answers: whatever the service says, as JSON.
RELAYED: dict[int | str, dict[str, Any]] = {
    200: {"description": "The service's answer", "content": {"application/json": {}}},
    401: {"description": "No valid access token"},
    502: {"description": "The service failed"},
    503: {"description": "The service is unreachable or unavailable"},
    504: {"description": "The service did not answer in time"},
}
