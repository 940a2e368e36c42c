"""Price alerts: set, listed, read, changed, paused and resumed, deleted."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from marketscope_notifier.alerts.service import AlertSpec
from marketscope_notifier.api.deps import Alerts, Caller
from marketscope_notifier.errors import AlertConflict, AlertNotFound, InvalidAlert
from marketscope_notifier.schemas import (
    AlertChange,
    AlertCreate,
    AlertList,
    AlertListItem,
    AlertOut,
)
from marketscope_servicekit.openapi_problems import problem_responses
from marketscope_servicekit.owned_index import InvalidCursor

router = APIRouter(tags=["alerts"])
FOUND = problem_responses(AlertNotFound)
CHANGED = problem_responses(AlertNotFound, AlertConflict, InvalidAlert)


@router.post(
    "/alerts", status_code=status.HTTP_201_CREATED, responses=problem_responses(InvalidAlert)
)
async def create_alert(
    body: AlertCreate, caller: Caller, alerts: Alerts, response: Response
) -> AlertOut:
    """Set an alert. The gateway has checked that market-data knows the symbol."""
    spec = AlertSpec(body.symbol, body.condition, body.frequency, body.expires_at, body.note)
    state = await alerts.create(caller.user_id, spec)
    response.headers["Location"] = f"/alerts/{state.id}"
    return AlertOut.of(state)


@router.get("/alerts", responses=problem_responses(InvalidCursor))
async def list_alerts(
    caller: Caller,
    alerts: Alerts,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AlertList:
    """The caller's alerts, newest first."""
    page = await alerts.list(caller.user_id, limit=limit, cursor=cursor)
    return AlertList(
        items=[AlertListItem.of(item) for item in page.items], next_cursor=page.next_cursor
    )


@router.get("/alerts/{alert_id}", responses=FOUND)
async def get_alert(alert_id: str, caller: Caller, alerts: Alerts) -> AlertOut:
    return AlertOut.of(await alerts.get(caller.user_id, alert_id))


@router.patch("/alerts/{alert_id}", responses=CHANGED)
async def change_alert(
    alert_id: str, body: AlertChange, caller: Caller, alerts: Alerts
) -> AlertOut:
    """Change its condition, frequency, expiry or note (what is left out stays). Its
    evaluation starts afresh; a `once` alert that fired is active again."""
    current = await alerts.get(caller.user_id, alert_id)
    given = body.model_fields_set
    spec = AlertSpec(
        current.symbol,
        body.condition if body.condition is not None else current.condition,
        body.frequency if body.frequency is not None else current.frequency,
        body.expires_at if "expires_at" in given else current.expires_at,
        body.note if "note" in given else current.note,
    )
    return AlertOut.of(await alerts.update(caller.user_id, alert_id, spec))


@router.post("/alerts/{alert_id}/pause", responses=CHANGED)
async def pause_alert(alert_id: str, caller: Caller, alerts: Alerts) -> AlertOut:
    return AlertOut.of(await alerts.pause(caller.user_id, alert_id))


@router.post("/alerts/{alert_id}/resume", responses=CHANGED)
async def resume_alert(alert_id: str, caller: Caller, alerts: Alerts) -> AlertOut:
    return AlertOut.of(await alerts.resume(caller.user_id, alert_id))


@router.delete("/alerts/{alert_id}", status_code=status.HTTP_204_NO_CONTENT, responses=FOUND)
async def delete_alert(alert_id: str, caller: Caller, alerts: Alerts) -> Response:
    await alerts.delete(caller.user_id, alert_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
