"""Error responses in a service's OpenAPI document, as the service really answers them.

Every error a service returns is ``application/problem+json`` (see ``problems``), but
FastAPI documents only its own 422 (as ``application/json``) and whatever a route lists
in ``responses=``. ``install_problem_docs`` rewrites the generated document once:

- every 4xx/5xx response is ``application/problem+json`` with the ``ProblemDetails``
  schema;
- the statuses an operation answers whatever its route are added, as ``common``
  says: by default 503 (not started, or AWS unavailable) everywhere and 422 where the
  operation takes parameters or a body; services add 401 where a caller is needed
  (`signed_identity_statuses`). The health routes get none: ``/healthz`` answers 200
  only and ``/readyz`` lists its own 503.

Routes list their own statuses with ``problem_responses(NotFound, Conflict, ...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from marketscope_servicekit.health import HEALTH_PATHS
from marketscope_servicekit.problems import PROBLEM_JSON, ServiceError, status_phrase

JsonObject = dict[str, Any]
SCHEMA_NAME = "ProblemDetails"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


class ProblemDetails(BaseModel):
    """An RFC 9457 problem; kinds add their own members (``errors``, ``limit``, ...)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem", examples=["about:blank"])
    title: str = Field(description="A short summary of the kind of problem")
    status: int = Field(ge=400, le=599, description="The HTTP status code")
    detail: str | None = Field(default=None, description="What went wrong this time")
    instance: str | None = Field(default=None, description="The path that was requested")


def problem_responses(
    *kinds: type[ServiceError] | int, descriptions: Mapping[int, str] | None = None
) -> dict[int | str, JsonObject]:
    """``responses=`` for a route: the problem statuses it answers besides the common ones,
    each described by ``descriptions`` or else by its reason phrase."""
    described = dict(descriptions or {})
    responses: dict[int | str, JsonObject] = {}
    for kind in kinds:
        status = kind if isinstance(kind, int) else int(kind.status)
        responses[status] = {"description": described.get(status, status_phrase(status))}
    return responses


CommonStatuses = Callable[[str, JsonObject], Iterable[int]]
"""Given an operation's path and OpenAPI object, the statuses it answers on any route."""


def default_statuses(path: str, operation: JsonObject) -> Iterable[int]:
    """503 everywhere (not started, AWS unavailable); 422 where input is validated; 400
    where a body is taken (one that cannot be decoded at all)."""
    yield HTTPStatus.SERVICE_UNAVAILABLE
    if operation.get("parameters") or "requestBody" in operation:
        yield HTTPStatus.UNPROCESSABLE_ENTITY
    if "requestBody" in operation:
        yield HTTPStatus.BAD_REQUEST


def signed_identity_statuses(path: str, operation: JsonObject) -> Iterable[int]:
    """The defaults and 401: the route needs the gateway-signed identity."""
    yield from default_statuses(path, operation)
    yield HTTPStatus.UNAUTHORIZED


def install_problem_docs(app: FastAPI, *, common: CommonStatuses = default_statuses) -> None:
    """Rewrite ``app``'s OpenAPI document (once, when first asked for) as described above."""
    build = app.openapi

    def openapi() -> JsonObject:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(build(), common=common)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_problems(document: JsonObject, *, common: CommonStatuses) -> JsonObject:
    """``document`` rewritten in place (and returned) so its errors are problem+json."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas[SCHEMA_NAME] = ProblemDetails.model_json_schema(ref_template="{model}")
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in () if path in HEALTH_PATHS else common(path, operation):
                responses.setdefault(str(status), {"description": status_phrase(status)})
            for status, response in responses.items():
                if status[:1] in {"4", "5"}:
                    response["content"] = {
                        PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{SCHEMA_NAME}"}}
                    }
    if not _still_referenced(document, VALIDATION_SCHEMAS):
        for name in VALIDATION_SCHEMAS:
            schemas.pop(name, None)
    return document


def _still_referenced(document: JsonObject, names: Iterable[str]) -> bool:
    text = repr(document.get("paths", {}))
    return any(f"#/components/schemas/{name}'" in text for name in names)
