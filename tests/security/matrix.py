"""The authorization matrix of the gateway's REST API, keyed by the OpenAPI document's
(method, path template).

Every operation in the document is either an owner case here, which runs user B against
user A's resources through that route and checks the answers (``checks.py``), or listed
in ``PUBLIC`` with the reason it names nothing a user owns. A route that is neither fails
``test_authorization_matrix.py``, so a new route cannot ship without its owner check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from ..stack import ADMIN_EMAIL, PASSWORD, Account, Stack
from .checks import a_keeps_everything, answered, no_leak, refused


class Route(NamedTuple):
    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


OwnerCase = Callable[[Stack], Awaitable[None]]
OWNER_CASES: dict[Route, OwnerCase] = {}

MARKET_DATA = "market data every user may read: prices and company facts, owned by nobody"
PUBLIC: dict[Route, str] = {
    Route("GET", "/healthz"): "liveness: names nothing, touches no dependency",
    Route("GET", "/readyz"): "readiness: names the failed checks, no user data",
    Route("POST", "/api/v1/auth/register"): "creates an account: there is no caller yet",
    Route("POST", "/api/v1/auth/login"): "exchanges credentials: there is no caller yet",
    Route("POST", "/api/v1/auth/refresh"): "the refresh token in the body is the authority",
    Route("POST", "/api/v1/auth/logout"): "the refresh token in the body is the authority",
    Route("GET", "/api/v1/quotes/{symbol}"): MARKET_DATA,
    Route("GET", "/api/v1/quotes"): MARKET_DATA,
    Route("GET", "/api/v1/history/{symbol}"): MARKET_DATA,
    Route("GET", "/api/v1/indicators/{symbol}"): MARKET_DATA,
    Route("GET", "/api/v1/risk"): MARKET_DATA,
    Route("GET", "/api/v1/profile/{symbol}"): MARKET_DATA,
    Route("GET", "/openai/v1/models"): "the model list is the same for every caller",
}


def owner_case(method: str, path: str) -> Callable[[OwnerCase], OwnerCase]:
    def register(case: OwnerCase) -> OwnerCase:
        OWNER_CASES[Route(method, path)] = case
        return case

    return register


def _ids(documents: list[dict[str, Any]]) -> set[str]:
    return {document["document_id"] for document in documents}


@owner_case("GET", "/api/v1/documents/{document_id}")
async def read_a_document(stack: Stack) -> None:
    for document in (stack.a_owns.note, stack.a_owns.probe):
        path = f"/api/v1/documents/{document.document_id}"
        own = await stack.client.get(path, headers=stack.a.headers)
        assert own.status_code == 200, own.text  # the route serves A: B's refusal means something
        refused(stack, await stack.client.get(path, headers=stack.b.headers))


@owner_case("PUT", "/api/v1/documents/{document_id}")
async def replace_a_document(stack: Stack) -> None:
    for document in (stack.a_owns.note, stack.a_owns.probe):
        response = await stack.client.put(
            f"/api/v1/documents/{document.document_id}",
            headers=stack.b.headers,
            files={"file": ("takeover.md", b"# Written by B\n\nB's text.\n", "text/markdown")},
        )
        refused(stack, response)
    await a_keeps_everything(stack)


@owner_case("DELETE", "/api/v1/documents/{document_id}")
async def delete_a_document(stack: Stack) -> None:
    for document in (stack.a_owns.note, stack.a_owns.probe):
        path = f"/api/v1/documents/{document.document_id}"
        refused(stack, await stack.client.delete(path, headers=stack.b.headers))
    await a_keeps_everything(stack)


@owner_case("GET", "/api/v1/documents")
async def list_documents(stack: Stack) -> None:
    own = await stack.client.get("/api/v1/documents", headers=stack.a.headers)
    assert stack.a_owns.note.document_id in _ids(own.json()["documents"]), own.text
    response = await stack.client.get("/api/v1/documents", headers=stack.b.headers)
    answered(stack, response)
    listed = response.json()["documents"]
    assert stack.b_owns.note.document_id in _ids(listed), "B's own documents are listed"
    assert all(document["owner"] in {stack.b.user_id, "shared"} for document in listed), listed


@owner_case("POST", "/api/v1/documents")
async def upload_a_documents_bytes(stack: Stack) -> None:
    """The same bytes from another owner are a new document of theirs, never A's."""
    probe = stack.a_owns.probe
    response = await stack.client.post(
        "/api/v1/documents",
        headers=stack.b.headers,
        files={"file": ("copy.md", probe.content, "text/markdown")},
    )
    answered(stack, response, 202)
    accepted = response.json()
    assert accepted["document_id"] != probe.document_id
    assert accepted["deduplicated"] is False
    copy = await stack.client.get(
        f"/api/v1/documents/{accepted['document_id']}", headers=stack.b.headers
    )
    answered(stack, copy)
    assert copy.json()["owner"] == stack.b.user_id
    await a_keeps_everything(stack)


@owner_case("POST", "/api/v1/search")
async def search_documents(stack: Stack) -> None:
    note = stack.a_owns.note
    own = await stack.client.post(
        "/api/v1/search", headers=stack.a.headers, json={"query": note.marker, "mode": "bm25"}
    )
    assert note.document_id in {hit["citation"]["document_id"] for hit in own.json()["hits"]}
    a_documents = {note.document_id, stack.a_owns.probe.document_id}
    queries: list[dict[str, Any]] = [
        *({"query": note.marker, "mode": mode, "k": 50} for mode in ("hybrid", "vector", "bm25")),
        {"query": "AAPL stock analysis", "k": 50},
        {"query": note.marker, "document_ids": sorted(a_documents)},
        {"query": note.marker, "tags": ["research"], "k": 50},
    ]
    for body in queries:
        response = await stack.client.post("/api/v1/search", headers=stack.b.headers, json=body)
        if response.status_code in {403, 404}:
            refused(stack, response)  # naming A's documents may be refused outright
            continue
        answered(stack, response)
        hits = response.json()["hits"]
        assert all(hit["citation"]["document_id"] not in a_documents for hit in hits), hits
        assert all(hit["owner"] in {stack.b.user_id, "shared"} for hit in hits), hits
        assert all(note.marker not in hit["text"] + hit["snippet"] for hit in hits), hits


@owner_case("GET", "/api/v1/watchlist")
async def read_the_watchlist(stack: Stack) -> None:
    response = await stack.client.get("/api/v1/watchlist", headers=stack.b.headers)
    answered(stack, response)
    watchlist = response.json()
    assert watchlist["owner"] == stack.b.user_id
    assert not set(watchlist["symbols"]) & set(stack.a_owns.watchlist), watchlist


@owner_case("PUT", "/api/v1/watchlist")
async def replace_the_watchlist(stack: Stack) -> None:
    for symbols in (["AAPL"], list(stack.b_owns.watchlist)):
        response = await stack.client.put(
            "/api/v1/watchlist", headers=stack.b.headers, json={"symbols": symbols}
        )
        answered(stack, response)
        assert response.json()["owner"] == stack.b.user_id
        assert response.json()["symbols"] == symbols
        await a_keeps_everything(stack)


@owner_case("GET", "/api/v1/me")
async def read_the_account(stack: Stack) -> None:
    response = await stack.client.get("/api/v1/me", headers=stack.b.headers)
    answered(stack, response)
    assert response.json()["user_id"] == stack.b.user_id


@owner_case("GET", "/api/v1/stocks/{symbol}/overview")
async def overview_documents(stack: Stack) -> None:
    """The overview's related documents come from the caller's own search."""
    path = "/api/v1/stocks/AAPL/overview"
    own = await stack.client.get(path, headers=stack.a.headers)
    assert stack.a_owns.note.document_id in _ids(own.json()["documents"] or []), own.text
    response = await stack.client.get(path, headers=stack.b.headers)
    answered(stack, response)
    related = response.json()["documents"]
    assert related is not None, response.text  # the part answered: its absence proves nothing
    assert stack.b_owns.note.document_id in _ids(related), related
    assert not _ids(related) & {stack.a_owns.note.document_id, stack.a_owns.probe.document_id}


async def _role_change(stack: Stack, method: str) -> None:
    for target in (stack.a.user_id, stack.b.user_id):  # A's account, and B granting itself
        path = f"/api/v1/admin/users/{target}/roles/admin"
        response = await stack.client.request(method, path, headers=stack.b.headers)
        refused(stack, response)
    no_leak(stack, await stack.client.get("/api/v1/me", headers=stack.b.headers))
    await a_keeps_everything(stack)


@owner_case("PUT", "/api/v1/admin/users/{user_id}/roles/admin")
async def grant_admin(stack: Stack) -> None:
    await _role_change(stack, "PUT")


@owner_case("DELETE", "/api/v1/admin/users/{user_id}/roles/admin")
async def revoke_admin(stack: Stack) -> None:
    await _role_change(stack, "DELETE")


# ------------------------------------------------------------------ API keys


async def _new_key(stack: Stack, owner: Account, name: str) -> dict[str, Any]:
    response = await stack.client.post(
        "/api/v1/api-keys", json={"name": name}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _acts_as(stack: Stack, key: str, owner: Account) -> None:
    me = await stack.client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200, me.text
    assert me.json()["user_id"] == owner.user_id


async def _revoke(stack: Stack, owner: Account, key_id: str) -> None:
    response = await stack.client.delete(f"/api/v1/api-keys/{key_id}", headers=owner.headers)
    assert response.status_code == 204, response.text


@owner_case("POST", "/api/v1/api-keys")
async def create_an_api_key(stack: Stack) -> None:
    """A key B creates stands for B, and A's keys are as A left them."""
    a_key = await _new_key(stack, stack.a, "alice's script")
    response = await stack.client.post(
        "/api/v1/api-keys", json={"name": a_key["name"]}, headers=stack.b.headers
    )
    answered(stack, response, 201)
    b_key = response.json()
    assert b_key["id"] != a_key["id"]
    await _acts_as(stack, b_key["key"], stack.b)
    a_list = await stack.client.get("/api/v1/api-keys", headers=stack.a.headers)
    assert [key["id"] for key in a_list.json()] == [a_key["id"]], a_list.text
    await _acts_as(stack, a_key["key"], stack.a)
    await _revoke(stack, stack.b, b_key["id"])
    await _revoke(stack, stack.a, a_key["id"])


@owner_case("GET", "/api/v1/api-keys")
async def list_api_keys(stack: Stack) -> None:
    a_key = await _new_key(stack, stack.a, "alice's notebook")
    own = await stack.client.get("/api/v1/api-keys", headers=stack.a.headers)
    assert a_key["id"] in {key["id"] for key in own.json()}, own.text  # the route serves A
    response = await stack.client.get("/api/v1/api-keys", headers=stack.b.headers)
    answered(stack, response)
    assert response.json() == [], response.text
    assert a_key["id"] not in response.text
    await _revoke(stack, stack.a, a_key["id"])


@owner_case("DELETE", "/api/v1/api-keys/{key_id}")
async def revoke_an_api_key(stack: Stack) -> None:
    a_key = await _new_key(stack, stack.a, "alice's cron")
    refused(
        stack, await stack.client.delete(f"/api/v1/api-keys/{a_key['id']}", headers=stack.b.headers)
    )
    await _acts_as(stack, a_key["key"], stack.a)  # A's key still works
    await a_keeps_everything(stack)
    await _revoke(stack, stack.a, a_key["id"])


# ------------------------------------------------------------- conversations


async def _a_conversation(stack: Stack) -> dict[str, Any]:
    response = await stack.client.post(
        "/api/v1/conversations",
        json={"title": f"{stack.a_owns.note.marker} thoughts"},
        headers=stack.a.headers,
    )
    assert response.status_code == 201, response.text
    conversation: dict[str, Any] = response.json()
    return conversation


async def _a_still_has(stack: Stack, conversation: dict[str, Any]) -> None:
    response = await stack.client.get(
        f"/api/v1/conversations/{conversation['id']}", headers=stack.a.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["message_count"] == conversation["message_count"], response.text
    await a_keeps_everything(stack)


@owner_case("POST", "/api/v1/conversations")
async def create_a_conversation(stack: Stack) -> None:
    a_conversation = await _a_conversation(stack)
    response = await stack.client.post(
        "/api/v1/conversations", json={"title": "B's own"}, headers=stack.b.headers
    )
    answered(stack, response, 201)
    b_conversation = response.json()
    a_list = await stack.client.get("/api/v1/conversations", headers=stack.a.headers)
    assert b_conversation["id"] not in a_list.text
    await _a_still_has(stack, a_conversation)


@owner_case("GET", "/api/v1/conversations")
async def list_conversations(stack: Stack) -> None:
    a_conversation = await _a_conversation(stack)
    own = await stack.client.get("/api/v1/conversations", headers=stack.a.headers)
    assert a_conversation["id"] in own.text, own.text
    response = await stack.client.get(
        "/api/v1/conversations", params={"limit": 100}, headers=stack.b.headers
    )
    answered(stack, response)
    assert a_conversation["id"] not in response.text


@owner_case("GET", "/api/v1/conversations/{conversation_id}")
async def read_a_conversation(stack: Stack) -> None:
    a_conversation = await _a_conversation(stack)
    path = f"/api/v1/conversations/{a_conversation['id']}"
    own = await stack.client.get(path, headers=stack.a.headers)
    assert own.status_code == 200, own.text
    refused(stack, await stack.client.get(path, headers=stack.b.headers))


@owner_case("DELETE", "/api/v1/conversations/{conversation_id}")
async def delete_a_conversation(stack: Stack) -> None:
    a_conversation = await _a_conversation(stack)
    path = f"/api/v1/conversations/{a_conversation['id']}"
    refused(stack, await stack.client.delete(path, headers=stack.b.headers))
    await _a_still_has(stack, a_conversation)


@owner_case("POST", "/api/v1/conversations/{conversation_id}/messages")
async def write_into_a_conversation(stack: Stack) -> None:
    a_conversation = await _a_conversation(stack)
    path = f"/api/v1/conversations/{a_conversation['id']}/messages"
    for accept in ("text/event-stream", "application/json"):
        response = await stack.client.post(
            path,
            json={"content": "What did I ask before?"},
            headers={**stack.b.headers, "Accept": accept},
        )
        refused(stack, response)  # before any stream began
    await _a_still_has(stack, a_conversation)


# ------------------------------------------------------------------ analyses


async def _an_analysis(stack: Stack, account: Account) -> dict[str, Any]:
    response = await stack.client.post(
        "/api/v1/analyses",
        json={"kind": "stock", "symbols": ["AAPL"], "question": "Is the margin safe?"},
        headers=account.headers,
    )
    assert response.status_code == 202, response.text
    analysis: dict[str, Any] = response.json()
    return analysis


async def _a_still_has_analysis(stack: Stack, analysis: dict[str, Any]) -> None:
    response = await stack.client.get(
        f"/api/v1/analyses/{analysis['analysis_id']}", headers=stack.a.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] != "cancelled", response.text
    await a_keeps_everything(stack)


@owner_case("POST", "/api/v1/analyses")
async def request_an_analysis(stack: Stack) -> None:
    a_analysis = await _an_analysis(stack, stack.a)
    response = await stack.client.post(
        "/api/v1/analyses", json={"kind": "stock", "symbols": ["AAPL"]}, headers=stack.b.headers
    )
    answered(stack, response, 202)
    b_analysis = response.json()
    a_list = await stack.client.get("/api/v1/analyses", headers=stack.a.headers)
    assert b_analysis["analysis_id"] not in a_list.text
    await _a_still_has_analysis(stack, a_analysis)


@owner_case("GET", "/api/v1/analyses")
async def list_analyses(stack: Stack) -> None:
    a_analysis = await _an_analysis(stack, stack.a)
    own = await stack.client.get("/api/v1/analyses", headers=stack.a.headers)
    assert a_analysis["analysis_id"] in own.text, own.text
    response = await stack.client.get(
        "/api/v1/analyses", params={"limit": 100}, headers=stack.b.headers
    )
    answered(stack, response)
    assert a_analysis["analysis_id"] not in response.text


@owner_case("GET", "/api/v1/analyses/{analysis_id}")
async def read_an_analysis(stack: Stack) -> None:
    a_analysis = await _an_analysis(stack, stack.a)
    path = f"/api/v1/analyses/{a_analysis['analysis_id']}"
    own = await stack.client.get(path, headers=stack.a.headers)
    assert own.status_code == 200, own.text
    refused(stack, await stack.client.get(path, headers=stack.b.headers))


@owner_case("DELETE", "/api/v1/analyses/{analysis_id}")
async def cancel_an_analysis(stack: Stack) -> None:
    a_analysis = await _an_analysis(stack, stack.a)
    path = f"/api/v1/analyses/{a_analysis['analysis_id']}"
    refused(stack, await stack.client.delete(path, headers=stack.b.headers))
    await _a_still_has_analysis(stack, a_analysis)


@owner_case("GET", "/api/v1/usage")
async def read_usage(stack: Stack) -> None:
    answered(stack, await stack.client.get("/api/v1/usage", headers=stack.b.headers))


@owner_case("POST", "/openai/v1/chat/completions")
async def complete_through_the_openai_door(stack: Stack) -> None:
    """B's completion, with B's own key, draws on nothing of A's (its tools search B's
    documents and the shared ones only)."""
    b_key = await _new_key(stack, stack.b, "bob's openai client")
    # A's note names its codename: a completion that searched A's documents would say it.
    question = "Which codename do the private AAPL stock analyses mention?"
    response = await stack.client.post(
        "/openai/v1/chat/completions",
        json={"model": "marketscope", "messages": [{"role": "user", "content": question}]},
        headers={"Authorization": f"Bearer {b_key['key']}"},
    )
    answered(stack, response)
    await _revoke(stack, stack.b, b_key["id"])


# -------------------------------------------------------------------- alerts

# Far above any price: the alert never fires, so what A left is what A finds.
NEVER_REACHED = {"kind": "greater_than", "level": 1_000_000.0}


async def _an_alert(stack: Stack, account: Account) -> dict[str, Any]:
    response = await stack.client.post(
        "/api/v1/alerts",
        json={
            "symbol": "AAPL",
            "condition": NEVER_REACHED,
            "note": f"{stack.a_owns.note.marker} exit" if account is stack.a else "B's own",
        },
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    alert: dict[str, Any] = response.json()
    return alert


async def _a_still_has_alert(stack: Stack, alert: dict[str, Any]) -> None:
    response = await stack.client.get(
        f"/api/v1/alerts/{alert['alert_id']}", headers=stack.a.headers
    )
    assert response.status_code == 200, response.text
    found = response.json()
    for name in ("status", "note", "condition", "frequency", "expires_at"):
        assert found[name] == alert[name], (name, found)
    await a_keeps_everything(stack)


@owner_case("POST", "/api/v1/alerts")
async def set_an_alert(stack: Stack) -> None:
    a_alert = await _an_alert(stack, stack.a)
    response = await stack.client.post(
        "/api/v1/alerts",
        json={"symbol": "AAPL", "condition": NEVER_REACHED},
        headers=stack.b.headers,
    )
    answered(stack, response, 201)
    b_alert = response.json()
    a_list = await stack.client.get("/api/v1/alerts", headers=stack.a.headers)
    assert b_alert["alert_id"] not in a_list.text
    await _a_still_has_alert(stack, a_alert)


@owner_case("GET", "/api/v1/alerts")
async def list_alerts(stack: Stack) -> None:
    a_alert = await _an_alert(stack, stack.a)
    own = await stack.client.get("/api/v1/alerts", headers=stack.a.headers)
    assert a_alert["alert_id"] in own.text, own.text
    response = await stack.client.get(
        "/api/v1/alerts", params={"limit": 100}, headers=stack.b.headers
    )
    answered(stack, response)
    assert a_alert["alert_id"] not in response.text


@owner_case("GET", "/api/v1/alerts/{alert_id}")
async def read_an_alert(stack: Stack) -> None:
    a_alert = await _an_alert(stack, stack.a)
    path = f"/api/v1/alerts/{a_alert['alert_id']}"
    own = await stack.client.get(path, headers=stack.a.headers)
    assert own.status_code == 200, own.text
    refused(stack, await stack.client.get(path, headers=stack.b.headers))


@owner_case("PATCH", "/api/v1/alerts/{alert_id}")
async def change_an_alert(stack: Stack) -> None:
    a_alert = await _an_alert(stack, stack.a)
    path = f"/api/v1/alerts/{a_alert['alert_id']}"
    for change in (
        {"note": "B's now"},
        {"condition": {"kind": "less_than", "level": 1_000_000.0}},
        {"expires_at": "2099-01-01T00:00:00Z"},
    ):
        refused(stack, await stack.client.patch(path, json=change, headers=stack.b.headers))
    await _a_still_has_alert(stack, a_alert)


@owner_case("POST", "/api/v1/alerts/{alert_id}/pause")
async def pause_an_alert(stack: Stack) -> None:
    a_alert = await _an_alert(stack, stack.a)
    path = f"/api/v1/alerts/{a_alert['alert_id']}/pause"
    refused(stack, await stack.client.post(path, headers=stack.b.headers))
    await _a_still_has_alert(stack, a_alert)


@owner_case("POST", "/api/v1/alerts/{alert_id}/resume")
async def resume_an_alert(stack: Stack) -> None:
    a_alert = await _an_alert(stack, stack.a)
    path = f"/api/v1/alerts/{a_alert['alert_id']}"
    paused = await stack.client.post(f"{path}/pause", headers=stack.a.headers)
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    refused(stack, await stack.client.post(f"{path}/resume", headers=stack.b.headers))
    await _a_still_has_alert(stack, paused.json())


@owner_case("DELETE", "/api/v1/alerts/{alert_id}")
async def delete_an_alert(stack: Stack) -> None:
    a_alert = await _an_alert(stack, stack.a)
    path = f"/api/v1/alerts/{a_alert['alert_id']}"
    refused(stack, await stack.client.delete(path, headers=stack.b.headers))
    await _a_still_has_alert(stack, a_alert)


# ------------------------------------------------------------- notifications

INBOX_WAIT_SECONDS = 30.0


async def _unread_of_a(stack: Stack) -> list[dict[str, Any]]:
    response = await stack.client.get(
        "/api/v1/notifications", params={"unread": True, "limit": 100}, headers=stack.a.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _a_notification(stack: Stack) -> dict[str, Any]:
    """An unread notification of A's: notifier's notice that A's note was indexed (no
    case marks A's notifications read)."""
    async with asyncio.timeout(INBOX_WAIT_SECONDS):
        while True:
            for item in await _unread_of_a(stack):
                if stack.a_owns.note.document_id in (item["link"] or ""):
                    return item
            await asyncio.sleep(0.5)


async def _a_still_has_unread(stack: Stack, notification: dict[str, Any]) -> None:
    unread = {item["notification_id"] for item in await _unread_of_a(stack)}
    assert notification["notification_id"] in unread, unread
    await a_keeps_everything(stack)


@owner_case("GET", "/api/v1/notifications")
async def list_notifications(stack: Stack) -> None:
    a_notification = await _a_notification(stack)
    for params in ({"limit": 100}, {"limit": 100, "unread": True}):
        response = await stack.client.get(
            "/api/v1/notifications", params=params, headers=stack.b.headers
        )
        answered(stack, response)
        assert a_notification["notification_id"] not in response.text


@owner_case("GET", "/api/v1/notifications/unread-count")
async def count_unread_notifications(stack: Stack) -> None:
    await _a_notification(stack)
    response = await stack.client.get("/api/v1/notifications/unread-count", headers=stack.b.headers)
    answered(stack, response)
    listed = await stack.client.get(
        "/api/v1/notifications", params={"unread": True, "limit": 100}, headers=stack.b.headers
    )
    # B's count is of B's inbox: A's unread notifications are not in it.
    assert response.json()["unread"] <= len(listed.json()["items"]), response.text


@owner_case("POST", "/api/v1/notifications/{notification_id}/read")
async def mark_a_notification_read(stack: Stack) -> None:
    a_notification = await _a_notification(stack)
    path = f"/api/v1/notifications/{a_notification['notification_id']}/read"
    refused(stack, await stack.client.post(path, headers=stack.b.headers))
    await _a_still_has_unread(stack, a_notification)


@owner_case("POST", "/api/v1/notifications/read-all")
async def mark_all_notifications_read(stack: Stack) -> None:
    a_notification = await _a_notification(stack)
    response = await stack.client.post("/api/v1/notifications/read-all", headers=stack.b.headers)
    answered(stack, response)
    await _a_still_has_unread(stack, a_notification)


# ------------------------------------------------------- notification channels

# Nothing listens there: a test event to it fails at once and is recorded as a delivery.
UNHEARD_HOOK = "http://127.0.0.1:9/hooks/marketscope"


async def _a_channel(stack: Stack, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await stack.client.post(
        "/api/v1/notification-channels",
        json=body or {"type": "webhook", "url": UNHEARD_HOOK, "description": "alice's hook"},
        headers=stack.a.headers,
    )
    assert response.status_code == 201, response.text
    channel: dict[str, Any] = response.json()["channel"]
    return channel


async def _a_sms_channel(stack: Stack) -> dict[str, Any]:
    return await _a_channel(stack, {"type": "sms", "phone": "+15555550142"})


async def _a_still_has_channel(stack: Stack, channel: dict[str, Any]) -> None:
    path = f"/api/v1/notification-channels/{channel['channel_id']}"
    response = await stack.client.get(path, headers=stack.a.headers)
    assert response.status_code == 200, response.text
    found = response.json()
    for name in ("status", "kinds", "description", "url", "phone", "secrets"):
        assert found[name] == channel[name], (name, found)
    await a_keeps_everything(stack)


async def _a_delivery(stack: Stack, channel: dict[str, Any]) -> dict[str, Any]:
    path = f"/api/v1/notification-channels/{channel['channel_id']}/test"
    response = await stack.client.post(path, headers=stack.a.headers)
    assert response.status_code == 200, response.text
    delivery: dict[str, Any] = response.json()
    return delivery


async def _refused_on_a_channel(stack: Stack, method: str, suffix: str, **body: Any) -> None:
    channel = await _a_channel(stack)
    path = f"/api/v1/notification-channels/{channel['channel_id']}{suffix}"
    response = await stack.client.request(method, path, headers=stack.b.headers, **body)
    refused(stack, response)
    await _a_still_has_channel(stack, channel)


@owner_case("POST", "/api/v1/notification-channels")
async def add_a_channel(stack: Stack) -> None:
    a_channel = await _a_channel(stack)
    response = await stack.client.post(
        "/api/v1/notification-channels",
        json={"type": "webhook", "url": UNHEARD_HOOK},
        headers=stack.b.headers,
    )
    answered(stack, response, 201)
    b_channel = response.json()["channel"]
    assert b_channel["channel_id"] != a_channel["channel_id"]
    a_list = await stack.client.get("/api/v1/notification-channels", headers=stack.a.headers)
    assert b_channel["channel_id"] not in a_list.text
    await _a_still_has_channel(stack, a_channel)


@owner_case("GET", "/api/v1/notification-channels")
async def list_channels(stack: Stack) -> None:
    a_channel = await _a_channel(stack)
    own = await stack.client.get("/api/v1/notification-channels", headers=stack.a.headers)
    assert a_channel["channel_id"] in own.text, own.text
    response = await stack.client.get("/api/v1/notification-channels", headers=stack.b.headers)
    answered(stack, response)
    assert a_channel["channel_id"] not in response.text


@owner_case("GET", "/api/v1/notification-channels/{channel_id}")
async def read_a_channel(stack: Stack) -> None:
    a_channel = await _a_channel(stack)
    path = f"/api/v1/notification-channels/{a_channel['channel_id']}"
    own = await stack.client.get(path, headers=stack.a.headers)
    assert own.status_code == 200, own.text
    refused(stack, await stack.client.get(path, headers=stack.b.headers))


@owner_case("PATCH", "/api/v1/notification-channels/{channel_id}")
async def change_a_channel(stack: Stack) -> None:
    a_channel = await _a_channel(stack)
    path = f"/api/v1/notification-channels/{a_channel['channel_id']}"
    for change in (
        {"url": "http://127.0.0.1:9/hooks/bob"},
        {"enabled": False},
        {"kinds": ["alert"], "description": "B's now"},
    ):
        refused(stack, await stack.client.patch(path, json=change, headers=stack.b.headers))
    await _a_still_has_channel(stack, a_channel)


@owner_case("DELETE", "/api/v1/notification-channels/{channel_id}")
async def delete_a_channel(stack: Stack) -> None:
    await _refused_on_a_channel(stack, "DELETE", "")


@owner_case("POST", "/api/v1/notification-channels/{channel_id}/rotate-secret")
async def rotate_a_channels_secret(stack: Stack) -> None:
    await _refused_on_a_channel(stack, "POST", "/rotate-secret")


@owner_case("POST", "/api/v1/notification-channels/{channel_id}/test")
async def test_a_channel(stack: Stack) -> None:
    await _refused_on_a_channel(stack, "POST", "/test")


@owner_case("POST", "/api/v1/notification-channels/{channel_id}/verify")
async def verify_a_channel(stack: Stack) -> None:
    a_channel = await _a_sms_channel(stack)
    path = f"/api/v1/notification-channels/{a_channel['channel_id']}/verify"
    for code in ("000000", "123456"):
        response = await stack.client.post(path, json={"code": code}, headers=stack.b.headers)
        refused(stack, response)
    await _a_still_has_channel(stack, a_channel)


@owner_case("POST", "/api/v1/notification-channels/{channel_id}/resend-code")
async def resend_a_channels_code(stack: Stack) -> None:
    a_channel = await _a_sms_channel(stack)
    path = f"/api/v1/notification-channels/{a_channel['channel_id']}/resend-code"
    refused(stack, await stack.client.post(path, headers=stack.b.headers))
    await _a_still_has_channel(stack, a_channel)


@owner_case("GET", "/api/v1/notification-channels/{channel_id}/deliveries")
async def list_a_channels_deliveries(stack: Stack) -> None:
    a_channel = await _a_channel(stack)
    delivery = await _a_delivery(stack, a_channel)
    path = f"/api/v1/notification-channels/{a_channel['channel_id']}/deliveries"
    own = await stack.client.get(path, headers=stack.a.headers)
    assert delivery["delivery_id"] in own.text, own.text
    refused(stack, await stack.client.get(path, headers=stack.b.headers))


@owner_case("POST", "/api/v1/notification-channels/{channel_id}/deliveries/{delivery_id}/redeliver")
async def redeliver_to_a_channel(stack: Stack) -> None:
    a_channel = await _a_channel(stack)
    delivery = await _a_delivery(stack, a_channel)
    path = (
        f"/api/v1/notification-channels/{a_channel['channel_id']}"
        f"/deliveries/{delivery['delivery_id']}/redeliver"
    )
    refused(stack, await stack.client.post(path, headers=stack.b.headers))
    await _a_still_has_channel(stack, a_channel)


# ------------------------------------------------------------------ ops (admins only)


async def _admin_headers(stack: Stack) -> dict[str, str]:
    """The stack's admin (ADMIN_EMAIL), registered by the first case that needs it."""
    credentials = {"email": ADMIN_EMAIL, "password": PASSWORD}
    registered = await stack.client.post("/api/v1/auth/register", json=credentials)
    assert registered.status_code in {201, 409}, registered.text
    login = await stack.client.post("/api/v1/auth/login", json=credentials)
    assert login.status_code == 200, login.text
    assert "admin" in login.json()["user"]["roles"], login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _ops_read(stack: Stack, path: str) -> None:
    own = await stack.client.get(path, headers=await _admin_headers(stack))
    assert own.status_code == 200, own.text  # the route serves admins: B's refusal means something
    refused(stack, await stack.client.get(path, headers=stack.b.headers))


@owner_case("GET", "/api/v1/ops/health")
async def read_ops_health(stack: Stack) -> None:
    await _ops_read(stack, "/api/v1/ops/health")


@owner_case("GET", "/api/v1/ops/queues")
async def read_ops_queues(stack: Stack) -> None:
    await _ops_read(stack, "/api/v1/ops/queues")


@owner_case("GET", "/api/v1/ops/latency")
async def read_ops_latency(stack: Stack) -> None:
    await _ops_read(stack, "/api/v1/ops/latency")


@owner_case("GET", "/api/v1/ops/measurements")
async def read_ops_measurements(stack: Stack) -> None:
    await _ops_read(stack, "/api/v1/ops/measurements")


@owner_case("GET", "/api/v1/ops/errors")
async def read_ops_errors(stack: Stack) -> None:
    await _ops_read(stack, "/api/v1/ops/errors")


@owner_case("POST", "/api/v1/ops/queues/{service}/redrive")
async def redrive_a_dlq(stack: Stack) -> None:
    for service in ("chat", "gateway", "nobody"):
        path = f"/api/v1/ops/queues/{service}/redrive"
        refused(stack, await stack.client.post(path, headers=stack.b.headers))
    await a_keeps_everything(stack)
