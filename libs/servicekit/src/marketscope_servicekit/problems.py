"""RFC 9457 problem details: every error a service returns is ``application/problem+json``.

Services raise ``ServiceError`` subclasses (or FastAPI's ``HTTPException``); one set of
handlers installed by ``install_problem_handlers`` turns them into responses, so no route
builds an error body by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.utils import is_body_allowed_for_status_code
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
ABOUT_BLANK = "about:blank"

# Members of a problem object that extensions must not overwrite.
_RESERVED = frozenset({"type", "title", "status", "detail", "instance"})

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """Base of every error a service turns into a problem response.

    Subclasses set ``status``/``title``/``type`` as class attributes and pass the
    occurrence-specific ``detail`` (and any ids involved as ``extensions``).
    """

    status: ClassVar[int] = HTTPStatus.INTERNAL_SERVER_ERROR
    title: ClassVar[str | None] = None
    type: ClassVar[str] = ABOUT_BLANK

    def __init__(
        self,
        detail: str | None = None,
        *,
        extensions: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.problem_title)
        self.detail = detail
        self.extensions = dict(extensions or {})
        self.headers = dict(headers or {})

    @property
    def problem_title(self) -> str:
        return self.title or status_phrase(self.status)


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type_: str = ABOUT_BLANK,
    instance: str | None = None,
    extensions: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A problem+json response; 204/304-style statuses get no body, as HTTP requires."""
    if not is_body_allowed_for_status_code(status):
        return Response(status_code=status, headers=dict(headers or {}))
    body: dict[str, Any] = {
        "type": type_,
        "title": title or status_phrase(status),
        "status": int(status),
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    body.update((key, value) for key, value in (extensions or {}).items() if key not in _RESERVED)
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_JSON,
    )


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return problem_response(
        exc.status,
        title=exc.problem_title,
        detail=exc.detail,
        type_=exc.type,
        instance=request.url.path,
        extensions=exc.extensions,
        headers=exc.headers,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    # Starlette fills ``detail`` with the reason phrase when none is given: not a detail.
    detail = None if exc.detail == status_phrase(exc.status_code) else str(exc.detail)
    return problem_response(
        exc.status_code, detail=detail, instance=request.url.path, headers=exc.headers
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc.errors())
    return problem_response(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        detail=f"The request has {len(errors)} invalid field(s).",
        instance=request.url.path,
        extensions={"errors": errors},
    )


async def _aws_error(request: Request, exc: Exception) -> Response:
    from marketscope_servicekit.errors import is_unavailable, unavailable

    if not is_unavailable(exc):
        return await _unexpected_error(request, exc)
    logger.warning(
        "AWS unavailable", exc_info=exc, extra={"method": request.method, "path": request.url.path}
    )
    return await _service_error(request, unavailable(exc, "AWS"))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # The traceback stays in the server log; clients only learn that it failed.
    logger.error(
        "unhandled error",
        exc_info=exc,
        extra={"method": request.method, "path": request.url.path},
    )
    return problem_response(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        detail="An unexpected error occurred.",
        instance=request.url.path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error of ``app`` as problem+json.

    Starlette re-raises an unexpected exception after the 500 response is sent, so the
    server (and any tracing middleware) still sees it.
    """
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # An AWS endpoint that does not answer (or throttles) is a 503, never a 500.
    app.add_exception_handler(BotoCoreError, _aws_error)
    app.add_exception_handler(ClientError, _aws_error)
    app.add_exception_handler(Exception, _unexpected_error)


def _field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # Only location, message and kind: echoing ``input`` could return secrets to clients.
    return [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in errors
    ]


def status_phrase(status: int) -> str:
    """The reason phrase of ``status`` ("Error" for a code HTTP does not name)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
