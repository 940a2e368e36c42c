"""Dependencies shared by the routes: the gateway's components, the authenticated caller
(an access token or a personal API key), admin-only and session-only access, and
relaying a service's answer to the client (and documenting it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from marketscope_gateway.auth.api_keys import is_api_key
from marketscope_gateway.auth.tokens import AccessClaims
from marketscope_gateway.components import Components
from marketscope_gateway.downstream.relayed import RelayedResponse
from marketscope_gateway.downstream.streamed import EVENT_STREAM, StreamedResponse
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
_bearer = HTTPBearer(
    auto_error=False,
    description="An access token from /api/v1/auth/login, or a personal API key (msk_...)",
)
RELAYED_HEADERS = ("retry-after", "location", "cache-control")
# Before OpenAPI 3.2, an event stream's schema describes each of its events.
SERVER_SENT_EVENT: dict[str, Any] = {
    "type": "object",
    "description": "One server-sent event",
    "required": ["data"],
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string", "description": "JSON, or [DONE] at an OpenAI stream's end"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
}


async def started(connection: HTTPConnection) -> Components:
    """The gateway's components, or 503 ``not-started`` before start-up and after shutdown."""
    return components_of(connection, Components)


Gateway = Annotated[Components, Depends(started)]


async def authenticated(
    request: Request,
    gateway: Gateway,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims:
    """The caller of a verified access token or API key, or 401. Before start-up every
    route that needs a caller is 503, whatever its credential."""
    claims: AccessClaims | None = getattr(request.state, CLAIMS_STATE, None)
    if claims is not None:
        return claims  # verified once already by the edge middleware
    if credentials is None:
        raise InvalidToken("An access token or API key is required (Authorization: Bearer ...).")
    if is_api_key(credentials.credentials):
        return await gateway.api_keys.resolve(credentials.credentials)
    return gateway.tokens.read_access(credentials.credentials)


async def admin(claims: Annotated[AccessClaims, Depends(authenticated)]) -> AccessClaims:
    if "admin" not in claims.roles:
        raise Forbidden("This needs the admin role (and an access token: API keys act as users).")
    return claims


async def signed_in(claims: Annotated[AccessClaims, Depends(authenticated)]) -> AccessClaims:
    """A caller with an access token: a leaked API key must not mint or list keys."""
    if claims.api_key_id is not None:
        raise Forbidden("This needs an access token (log in); an API key cannot do it.")
    return claims


Caller = Annotated[AccessClaims, Depends(authenticated)]
Admin = Annotated[AccessClaims, Depends(admin)]
SignedIn = Annotated[AccessClaims, Depends(signed_in)]


def public_location(response: Response, service_prefix: str) -> Response:
    """A service's ``Location`` under ``service_prefix`` (``/alerts/<id>``) as the
    gateway's own (``/api/v1/alerts/<id>``)."""
    location = response.headers.get("location")
    if location and location.startswith(service_prefix):
        response.headers["location"] = "/api/v1" + location
    return response


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


async def relay_opened(upstream: httpx.Response, service: str) -> Response:
    """An opened answer (`ServiceClient.open`) as the client gets it: an event stream
    as it arrives, never buffered; anything else (a problem before the stream began,
    one JSON answer) read whole and relayed as `relay` does."""
    if upstream.headers.get("content-type", "").startswith(EVENT_STREAM):
        return StreamedResponse(upstream, service)
    try:
        await upstream.aread()
    except httpx.TimeoutException as exc:
        raise DownstreamTimeout(service, f"{service} did not answer in time.") from exc
    except httpx.HTTPError as exc:
        raise DownstreamUnavailable(service, f"{service} broke off its answer.") from exc
    finally:
        await upstream.aclose()
    return relay(upstream)


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


def streamed(
    *kinds: type[ServiceError] | int, answer: str = "The service's answer"
) -> dict[int | str, dict[str, Any]]:
    """`relayed`, for a route whose answer is an event stream or one JSON answer."""
    responses = relayed(*kinds, answer=answer)
    responses[200]["content"] = {
        EVENT_STREAM: {"schema": SERVER_SENT_EVENT},
        "application/json": {},
    }
    return responses
