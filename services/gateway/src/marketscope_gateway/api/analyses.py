"""Analysis jobs: queued, listed, read and cancelled through chat with the caller's
identity (chat scopes every analysis to its owner). How a running job gets on arrives on
the WebSocket's ``analyses`` channel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from marketscope_gateway.api.deps import Caller, Gateway, public_location, relay, relayed
from marketscope_gateway.schemas import AnalysisRequest
from marketscope_servicekit import Conflict, InvalidRequest, NotFound, TooManyRequests

router = APIRouter(prefix="/api/v1", tags=["analyses"])
AnalysisId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
CHAT_PREFIX = "/analyses/"
# chat's answers, relayed: 404 for an analysis that is not the caller's, 422 for symbols
# or weights chat cannot use, 429 when the caller's budget is spent (with Retry-After).
QUEUED = relayed(
    InvalidRequest,
    TooManyRequests,
    answer="The queued analysis; Location names it",
    success=202,
    descriptions={
        422: "Invalid body, an unknown symbol, or weights that do not sum to 1",
        429: "Too many requests, or the caller's budget is spent (see Retry-After)",
    },
)
LISTED = relayed()
FOUND = relayed(NotFound)
CANCELLED = relayed(
    NotFound,
    Conflict,
    answer="Cancelled",
    success=204,
    descriptions={409: "The analysis has already finished"},
)


@router.post("/analyses", response_model=None, responses=QUEUED, status_code=202)
async def request_analysis(
    _analysis: AnalysisRequest, request: Request, caller: Caller, gateway: Gateway
) -> Response:
    """Queue an analysis of one stock or a portfolio; it runs in the background."""
    upstream = await gateway.chat.request_analysis(caller.identity, await request.body())
    return public_location(relay(upstream), CHAT_PREFIX)


@router.get("/analyses", response_model=None, responses=LISTED)
async def analyses(
    caller: Caller,
    gateway: Gateway,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1024, description="next_cursor")] = None,
) -> Response:
    """The caller's analyses, newest first, a page at a time."""
    params = {"limit": limit, "cursor": cursor}
    return relay(await gateway.chat.analyses(caller.identity, params))


@router.get("/analyses/{analysis_id}", response_model=None, responses=FOUND)
async def analysis(analysis_id: AnalysisId, caller: Caller, gateway: Gateway) -> Response:
    """The analysis: its status and progress, and its report once completed."""
    return relay(await gateway.chat.analysis(caller.identity, analysis_id))


@router.delete("/analyses/{analysis_id}", response_model=None, responses=CANCELLED, status_code=204)
async def cancel_analysis(analysis_id: AnalysisId, caller: Caller, gateway: Gateway) -> Response:
    return relay(await gateway.chat.cancel_analysis(caller.identity, analysis_id))
