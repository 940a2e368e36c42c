"""What every answer to B must show: a refusal (403/404 problem+json) where B named A's
resource, nothing of A's anywhere, and A's resources as A left them."""

from __future__ import annotations

import httpx

from ..stack import Stack

REFUSED = {403, 404}


def _sent(response: httpx.Response) -> str:
    """What B itself put in the request (an id in the path, a query echoed back): seeing
    it again in the answer is no leak."""
    request = response.request
    try:
        body = request.content.decode("utf-8", "replace")
    except httpx.RequestNotRead:  # a streamed upload: B's own bytes, none of A's ids
        body = ""
    return str(request.url) + body


def no_leak(stack: Stack, response: httpx.Response) -> None:
    sent = _sent(response)
    leaked = sorted(
        value
        for value in stack.a_owns.secrets(stack.a)
        if value and value in response.text and value not in sent
    )
    request = response.request
    assert not leaked, (
        f"{request.method} {request.url.path}: B's answer ({response.status_code}) holds A's "
        f"{leaked}: {response.text[:500]}"
    )


def refused(stack: Stack, response: httpx.Response) -> None:
    request = response.request
    where = f"{request.method} {request.url.path}"
    assert response.status_code in REFUSED, (
        f"{where}: B against A's resource got {response.status_code}, not 403/404: "
        f"{response.text[:500]}"
    )
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("application/problem+json"), f"{where}: {content_type}"
    no_leak(stack, response)


def answered(stack: Stack, response: httpx.Response, status: int = 200) -> None:
    """B's own answer (a list, a search, its own account), free of A's data."""
    request = response.request
    assert response.status_code == status, (
        f"{request.method} {request.url.path}: {response.status_code} {response.text[:500]}"
    )
    no_leak(stack, response)


async def a_keeps_everything(stack: Stack) -> None:
    """A's documents, watchlist and roles are exactly as A left them."""
    a, owns = stack.a, stack.a_owns
    for document in (owns.note, owns.probe):
        response = await stack.client.get(
            f"/api/v1/documents/{document.document_id}", headers=a.headers
        )
        assert response.status_code == 200, response.text
        state = response.json()
        assert state["owner"] == a.user_id
        assert state["status"] != "deleted", state
        assert state["version_id"] == document.version_id, state
        assert state["versions"] == 1, state
        assert state["sha256"] == document.sha256, state
    watchlist = await stack.client.get("/api/v1/watchlist", headers=a.headers)
    assert watchlist.status_code == 200, watchlist.text
    assert tuple(watchlist.json()["symbols"]) == owns.watchlist
    me = await stack.client.get("/api/v1/me", headers=a.headers)
    assert me.status_code == 200, me.text
    assert me.json()["roles"] == ["user"]
