"""The built object graph of a service, as routes reach it.

The lifespan builds it (``build_components``) and keeps it on ``app.state.components``;
before that, and after shutdown, a route that needs it answers 503 problem+json.
"""

from __future__ import annotations

from typing import TypeVar

from starlette.requests import HTTPConnection

from marketscope_servicekit.errors import NotStarted

C = TypeVar("C")


def components_of(connection: HTTPConnection, kind: type[C]) -> C:
    """The app's components, or `NotStarted` (503) while there are none."""
    components = getattr(connection.app.state, "components", None)
    if not isinstance(components, kind):
        raise NotStarted(str(getattr(connection.app.state, "service_name", "service")))
    return components
