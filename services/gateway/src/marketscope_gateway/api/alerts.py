"""Price alerts: set, listed, read, changed, paused, resumed and deleted through notifier
with the caller's identity (notifier scopes every alert to its owner). An alert is set
only on a symbol market-data knows; when one fires, it lands in the caller's inbox
(``notifications.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from marketscope_gateway.api.deps import Caller, Gateway, public_location, relay, relayed
from marketscope_gateway.errors import InvalidRequest
from marketscope_gateway.schemas import AlertChangeRequest, AlertRequest
from marketscope_servicekit import Conflict, NotFound

router = APIRouter(prefix="/api/v1", tags=["alerts"])
AlertId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
NOTIFIER_PREFIX = "/alerts/"
# notifier's answers, relayed: 404 for an alert that is not the caller's, 409 for one that
# changed meanwhile or has ended, 422 for a condition, frequency or expiry it cannot use.
CREATED = relayed(
    InvalidRequest,
    answer="The new alert; Location names it",
    success=201,
    descriptions={
        422: "Invalid body, a symbol market-data does not know, or a condition, frequency "
        "or expiry notifier cannot use"
    },
)
LISTED = relayed()
FOUND = relayed(NotFound)
CHANGED = relayed(
    NotFound,
    Conflict,
    InvalidRequest,
    descriptions={409: "The alert changed meanwhile, or has ended"},
)
DELETED = relayed(NotFound, answer="Deleted", success=204)


@router.post("/alerts", response_model=None, responses=CREATED, status_code=201)
async def create_alert(
    alert: AlertRequest, request: Request, caller: Caller, gateway: Gateway
) -> Response:
    """Set a price alert. The gateway first asks market-data for the symbol's quote as
    the caller: a symbol market-data does not know (its 404) is 422 and notifier is not
    asked; market-data unreachable is 503, and its other refusals are relayed. The body
    then goes to notifier as the client sent it (notifier checks the condition)."""
    symbol = alert.symbol.upper()
    quote = await gateway.market_data.quote(caller.identity, symbol)
    if quote.status_code == 404:
        raise InvalidRequest(f"market-data does not know the symbol {symbol}.")
    if quote.status_code >= 400:
        return relay(quote)
    upstream = await gateway.notifier.create_alert(caller.identity, await request.body())
    return public_location(relay(upstream), NOTIFIER_PREFIX)


@router.get("/alerts", response_model=None, responses=LISTED)
async def alerts(
    caller: Caller,
    gateway: Gateway,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor")] = None,
) -> Response:
    """The caller's alerts, newest first, a page at a time."""
    params = {"limit": limit, "cursor": cursor}
    return relay(await gateway.notifier.alerts(caller.identity, params))


@router.get("/alerts/{alert_id}", response_model=None, responses=FOUND)
async def alert(alert_id: AlertId, caller: Caller, gateway: Gateway) -> Response:
    """The alert: its condition in words, status, whether it is armed, how often it fired."""
    return relay(await gateway.notifier.alert(caller.identity, alert_id))


@router.patch("/alerts/{alert_id}", response_model=None, responses=CHANGED)
async def change_alert(
    alert_id: AlertId,
    _change: AlertChangeRequest,
    request: Request,
    caller: Caller,
    gateway: Gateway,
) -> Response:
    """Change its condition, frequency, expiry or note (what is left out stays); its
    evaluation starts afresh."""
    upstream = await gateway.notifier.change_alert(caller.identity, alert_id, await request.body())
    return relay(upstream)


@router.post("/alerts/{alert_id}/pause", response_model=None, responses=CHANGED)
async def pause_alert(alert_id: AlertId, caller: Caller, gateway: Gateway) -> Response:
    return relay(await gateway.notifier.pause_alert(caller.identity, alert_id))


@router.post("/alerts/{alert_id}/resume", response_model=None, responses=CHANGED)
async def resume_alert(alert_id: AlertId, caller: Caller, gateway: Gateway) -> Response:
    return relay(await gateway.notifier.resume_alert(caller.identity, alert_id))


@router.delete("/alerts/{alert_id}", response_model=None, responses=DELETED, status_code=204)
async def delete_alert(alert_id: AlertId, caller: Caller, gateway: Gateway) -> Response:
    return relay(await gateway.notifier.delete_alert(caller.identity, alert_id))
