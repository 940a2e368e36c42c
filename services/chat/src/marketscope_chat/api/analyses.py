"""Analyses: asked for (202, worked off the queue), listed, read, cancelled."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from marketscope_chat.analyses.schemas import (
    AnalysisCreate,
    AnalysisDetail,
    AnalysisList,
    AnalysisListItem,
)
from marketscope_chat.analyses.service import AnalysisService, AnalysisView
from marketscope_chat.api.deps import Caller
from marketscope_chat.components import Components
from marketscope_chat.errors import (
    AnalysisConflict,
    AnalysisNotFound,
    BudgetExceeded,
    InvalidAnalysis,
)
from marketscope_servicekit import DependencyUnavailable, components_of
from marketscope_servicekit.openapi_problems import problem_responses
from marketscope_servicekit.owned_index import InvalidCursor

router = APIRouter(tags=["analyses"])


async def analysis_service(request: Request) -> AnalysisService:
    return components_of(request, Components).analyses


Analyses = Annotated[AnalysisService, Depends(analysis_service)]


@router.post(
    "/analyses",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(InvalidAnalysis, BudgetExceeded, DependencyUnavailable),
)
async def request_analysis(
    body: AnalysisCreate, caller: Caller, analyses: Analyses, response: Response
) -> AnalysisDetail:
    """Queue an analysis; its progress and its end arrive on the WebSocket ``analyses``
    channel, and `GET /analyses/{id}` answers its state at any time."""
    state = await analyses.request(caller, body.ask())
    response.headers["Location"] = f"/analyses/{state.id}"
    return AnalysisDetail.of(AnalysisView(state, None))


@router.get("/analyses", responses=problem_responses(InvalidCursor))
async def list_analyses(
    caller: Caller,
    analyses: Analyses,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AnalysisList:
    """The caller's analyses, newest first."""
    page = await analyses.list(caller.user_id, limit=limit, cursor=cursor)
    return AnalysisList(
        items=[AnalysisListItem.of(item) for item in page.items], next_cursor=page.next_cursor
    )


@router.get("/analyses/{analysis_id}", responses=problem_responses(AnalysisNotFound))
async def get_analysis(analysis_id: str, caller: Caller, analyses: Analyses) -> AnalysisDetail:
    """Its state and progress, and the report once it is completed."""
    return AnalysisDetail.of(await analyses.get(caller.user_id, analysis_id))


@router.delete(
    "/analyses/{analysis_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(AnalysisNotFound, AnalysisConflict),
)
async def cancel_analysis(analysis_id: str, caller: Caller, analyses: Analyses) -> Response:
    """Cancel a queued or running analysis (409 once it is finished)."""
    await analyses.cancel(caller.user_id, analysis_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
