"""User B against user A's resources through every route of the gateway's OpenAPI
document: each route is an owner case of ``matrix.py`` or public with its reason."""

from __future__ import annotations

import pytest

from marketscope_gateway.main import create_app

from ..stack import Stack, in_stack_loop
from .matrix import OWNER_CASES, PUBLIC, Route

pytestmark = pytest.mark.integration

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# A route whose owner check is known to fail: route -> what B saw. Each runs as a strict
# xfail, so the fix turns CI red until the entry is removed.
KNOWN_HOLES: dict[Route, str] = {}


def documented_routes() -> list[Route]:
    paths = create_app().openapi()["paths"]
    return [
        Route(method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method in HTTP_METHODS
    ]


ROUTES = documented_routes()
OWNED = [route for route in ROUTES if route not in PUBLIC]


def missing_case(route: Route) -> str:
    return (
        f"route {route} has no owner case in tests/security: add one to matrix.py "
        "(or list it in PUBLIC with the reason it names nothing a user owns)"
    )


def test_every_documented_route_is_in_the_matrix() -> None:
    missing = [missing_case(route) for route in OWNED if route not in OWNER_CASES]
    assert not missing, "\n".join(missing)


def test_the_matrix_names_only_documented_routes() -> None:
    stale = sorted(str(route) for route in {*OWNER_CASES, *PUBLIC, *KNOWN_HOLES} - set(ROUTES))
    assert not stale, f"no longer in the gateway's OpenAPI document: {stale}"
    assert not set(OWNER_CASES) & set(PUBLIC), "a route is either owned or public"
    assert all(reason.strip() for reason in (*PUBLIC.values(), *KNOWN_HOLES.values()))


def _case(route: Route) -> object:
    marks = []
    if route in KNOWN_HOLES:
        marks.append(pytest.mark.xfail(reason=KNOWN_HOLES[route], strict=True))
    return pytest.param(route, id=str(route), marks=marks)


@pytest.mark.parametrize("route", [_case(route) for route in OWNED])
@in_stack_loop
async def test_user_b_cannot_reach_user_a_resources(route: Route, stack: Stack) -> None:
    case = OWNER_CASES.get(route)
    if case is None:
        pytest.fail(missing_case(route))
    await case(stack)
