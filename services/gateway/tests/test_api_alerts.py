"""Price alerts and the inbox through the gateway: every route relayed to notifier with
the caller's identity (method, path, query and body as sent), notifier's links and
problems naming the gateway's paths, and an alert set only on a symbol market-data knows."""

from __future__ import annotations

import json

import pytest

from .conftest import MakeGateway
from .fakes import FakeMarketData, FakeNotifier, Unreachable

pytestmark = pytest.mark.integration
CROSSING = {"kind": "crossing_up", "level": 200.0}


async def test_a_new_alert_is_notifiers_answer_located_on_the_gateway(
    make_gateway: MakeGateway,
) -> None:
    market_data, notifier = FakeMarketData(), FakeNotifier()
    async with make_gateway(market_data=market_data, notifier=notifier) as gw:
        _, auth, tokens = await gw.user()
        user_id = tokens["user"]["user_id"]
        # The client's JSON goes to notifier byte for byte, unknown fields as sent.
        sent = (
            b'{"symbol": "aapl",  "condition": {"kind": "crossing_up", "level": 200},'
            b' "frequency": {"kind": "every_time", "cooldown_seconds": 600}, "x": 1}'
        )
        created = await gw.client.post(
            "/api/v1/alerts", content=sent, headers={**auth, "Content-Type": "application/json"}
        )
        assert created.status_code == 201, created.text
        alert_id = created.json()["alert_id"]
        assert created.headers["location"] == f"/api/v1/alerts/{alert_id}"
        assert notifier.requests == [("POST", "/alerts")]
        assert notifier.bodies == [sent]
        assert notifier.callers[-1].user_id == user_id
        # The symbol was asked of market-data first, as the caller.
        assert market_data.callers[-1].user_id == user_id

        located = await gw.client.get(created.headers["location"], headers=auth)
        assert located.status_code == 200
        assert located.json()["symbol"] == "AAPL"
        assert notifier.requests[-1] == ("GET", f"/alerts/{alert_id}")


async def test_alerts_are_listed_changed_paused_resumed_and_deleted_for_the_caller(
    make_gateway: MakeGateway,
) -> None:
    notifier = FakeNotifier()
    async with make_gateway(notifier=notifier) as gw:
        _, auth, tokens = await gw.user()
        _, other_auth, _ = await gw.user()
        body = {"symbol": "MSFT", "condition": CROSSING}
        ids = []
        for _ in range(3):
            created = await gw.client.post("/api/v1/alerts", json=body, headers=auth)
            ids.append(created.json()["alert_id"])

        page = await gw.client.get("/api/v1/alerts", params={"limit": 2}, headers=auth)
        assert page.status_code == 200
        assert [item["alert_id"] for item in page.json()["items"]] == ids[:0:-1]
        assert notifier.requests[-1] == ("GET", "/alerts?limit=2")
        cursor = page.json()["next_cursor"]
        last = await gw.client.get(
            "/api/v1/alerts", params={"limit": 2, "cursor": cursor}, headers=auth
        )
        assert [item["alert_id"] for item in last.json()["items"]] == ids[:1]
        assert notifier.requests[-1] == ("GET", f"/alerts?limit=2&cursor={cursor}")
        assert notifier.callers[-1].user_id == tokens["user"]["user_id"]
        theirs = await gw.client.get("/api/v1/alerts", headers=other_auth)
        assert theirs.json()["items"] == []

        path = f"/api/v1/alerts/{ids[0]}"
        change = b'{"note": "breakout",  "condition": {"kind": "less_than", "level": 150}}'
        changed = await gw.client.patch(
            path, content=change, headers={**auth, "Content-Type": "application/json"}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["note"] == "breakout"
        assert changed.json()["condition"] == {"kind": "less_than", "level": 150}
        assert (notifier.requests[-1], notifier.bodies[-1]) == (
            ("PATCH", f"/alerts/{ids[0]}"),
            change,
        )

        paused = await gw.client.post(f"{path}/pause", headers=auth)
        assert paused.status_code == 200
        assert paused.json()["status"] == "paused"
        assert notifier.requests[-1] == ("POST", f"/alerts/{ids[0]}/pause")
        # Paused already: notifier's 409, naming the gateway's path.
        again = await gw.client.post(f"{path}/pause", headers=auth)
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        assert again.json()["detail"] == f"Alert {ids[0]} is paused already."
        assert again.json()["instance"] == f"{path}/pause"
        resumed = await gw.client.post(f"{path}/resume", headers=auth)
        assert resumed.json()["status"] == "active"
        assert notifier.requests[-1] == ("POST", f"/alerts/{ids[0]}/resume")

        deleted = await gw.client.delete(path, headers=auth)
        assert deleted.status_code == 204
        assert deleted.content == b""
        assert notifier.requests[-1] == ("DELETE", f"/alerts/{ids[0]}")
        assert ids[0] not in notifier.alerts

        # Another user's alert is not found, whatever the route, and stays as it was.
        path = f"/api/v1/alerts/{ids[1]}"
        for method, target, content in (
            ("GET", path, b""),
            ("PATCH", path, b'{"note": "mine now"}'),
            ("POST", f"{path}/pause", b""),
            ("POST", f"{path}/resume", b""),
            ("DELETE", path, b""),
        ):
            headers = {**other_auth, "Content-Type": "application/json"}
            response = await gw.client.request(method, target, content=content, headers=headers)
            assert response.status_code == 404, (method, target, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["instance"] == target
        assert notifier.alerts[ids[1]]["status"] == "active"
        assert notifier.alerts[ids[1]]["note"] is None


async def test_an_unknown_symbol_is_422_and_never_reaches_notifier(
    make_gateway: MakeGateway,
) -> None:
    notifier = FakeNotifier()
    async with make_gateway(notifier=notifier) as gw:
        _, auth, _ = await gw.user()
        path = "/api/v1/alerts"
        unknown = await gw.client.post(
            path, json={"symbol": "nope", "condition": CROSSING}, headers=auth
        )
        assert unknown.status_code == 422, unknown.text
        assert unknown.headers["content-type"] == "application/problem+json"
        assert unknown.json()["type"] == "urn:marketscope:problem:invalid-request"
        assert unknown.json()["detail"] == "market-data does not know the symbol NOPE."
        assert unknown.json()["instance"] == path
        assert notifier.requests == []


async def test_notifiers_problems_are_relayed_and_bad_shapes_never_reach_it(
    make_gateway: MakeGateway,
) -> None:
    notifier = FakeNotifier()
    async with make_gateway(notifier=notifier) as gw:
        _, auth, _ = await gw.user()
        path = "/api/v1/alerts"
        odd = await gw.client.post(
            path, json={"symbol": "AAPL", "condition": {"kind": "sideways"}}, headers=auth
        )
        assert odd.status_code == 422  # notifier's own rule, relayed
        assert odd.headers["content-type"] == "application/problem+json"
        assert odd.json()["detail"] == "Not a condition notifier knows."
        assert odd.json()["instance"] == path
        assert "location" not in odd.headers
        relayed = len(notifier.requests)

        for bad in (
            {"condition": CROSSING},
            {"symbol": "AAPL"},
            {"symbol": "AAPL;DROP", "condition": CROSSING},
            {"symbol": "AAPL", "condition": "crossing"},
            {"symbol": "AAPL", "condition": {"level": 200}},
            {"symbol": "AAPL", "condition": CROSSING, "frequency": "once"},
            {"symbol": "AAPL", "condition": CROSSING, "expires_at": "soon"},
            {"symbol": "AAPL", "condition": CROSSING, "note": "n" * 501},
        ):
            response = await gw.client.post(path, json=bad, headers=auth)
            assert response.status_code == 422, (bad, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        change = await gw.client.patch(f"{path}/a1", json={"note": "n" * 501}, headers=auth)
        assert change.status_code == 422
        listed = await gw.client.get(path, params={"limit": 101}, headers=auth)
        assert listed.status_code == 422
        odd_id = await gw.client.get(f"{path}/not.an.id", headers=auth)
        assert odd_id.status_code == 422
        inbox = await gw.client.get(
            "/api/v1/notifications", params={"unread": "maybe"}, headers=auth
        )
        assert inbox.status_code == 422
        assert len(notifier.requests) == relayed


async def test_the_inbox_is_the_callers_listed_counted_and_marked_read(
    make_gateway: MakeGateway,
) -> None:
    notifier = FakeNotifier()
    async with make_gateway(notifier=notifier) as gw:
        _, auth, tokens = await gw.user()
        _, other_auth, other_tokens = await gw.user()
        user_id = tokens["user"]["user_id"]
        first = notifier.notify(user_id, "AAPL crossed 200.00")
        second = notifier.notify(user_id, "MSFT fell below 300.00")
        notifier.notify(user_id, "Analysis finished", read=True)
        theirs = notifier.notify(other_tokens["user"]["user_id"], "GOOG crossed 100.00")

        unread = await gw.client.get(
            "/api/v1/notifications", params={"unread": True, "limit": 5}, headers=auth
        )
        assert unread.status_code == 200
        assert [n["notification_id"] for n in unread.json()["items"]] == [second, first]
        assert notifier.requests[-1] == ("GET", "/notifications?limit=5&unread=true")
        assert notifier.callers[-1].user_id == user_id
        everything = await gw.client.get(
            "/api/v1/notifications", params={"cursor": "1"}, headers=auth
        )
        assert len(everything.json()["items"]) == 2
        assert notifier.requests[-1] == ("GET", "/notifications?cursor=1")

        count = await gw.client.get("/api/v1/notifications/unread-count", headers=auth)
        assert count.json() == {"unread": 2}
        assert notifier.requests[-1] == ("GET", "/notifications/unread-count")

        read = await gw.client.post(f"/api/v1/notifications/{first}/read", headers=auth)
        assert read.status_code == 204
        assert read.content == b""
        assert notifier.requests[-1] == ("POST", f"/notifications/{first}/read")
        assert notifier.inbox[first]["read"] is True

        # Another user's notification is not found, and stays unread.
        path = f"/api/v1/notifications/{theirs}/read"
        refused = await gw.client.post(path, headers=auth)
        assert refused.status_code == 404
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["instance"] == path
        assert notifier.inbox[theirs]["read"] is False

        marked = await gw.client.post("/api/v1/notifications/read-all", headers=auth)
        assert marked.status_code == 200
        assert marked.json() == {"marked": 1}
        assert notifier.requests[-1] == ("POST", "/notifications/read-all")
        assert notifier.inbox[theirs]["read"] is False
        others = await gw.client.get("/api/v1/notifications/unread-count", headers=other_auth)
        assert others.json() == {"unread": 1}


ROUTES = [
    ("POST", "/api/v1/alerts", json.dumps({"symbol": "AAPL", "condition": CROSSING}).encode()),
    ("GET", "/api/v1/alerts", b""),
    ("GET", "/api/v1/alerts/a1", b""),
    ("PATCH", "/api/v1/alerts/a1", b'{"note": "n"}'),
    ("POST", "/api/v1/alerts/a1/pause", b""),
    ("POST", "/api/v1/alerts/a1/resume", b""),
    ("DELETE", "/api/v1/alerts/a1", b""),
    ("GET", "/api/v1/notifications", b""),
    ("GET", "/api/v1/notifications/unread-count", b""),
    ("POST", "/api/v1/notifications/n1/read", b""),
    ("POST", "/api/v1/notifications/read-all", b""),
]


async def test_notifier_down_is_503_and_no_caller_is_401(make_gateway: MakeGateway) -> None:
    async with make_gateway(transports={"notifier": Unreachable()}) as gw:
        _, auth, _ = await gw.user()
        for method, path, body in ROUTES:
            headers = {"Content-Type": "application/json"}
            down = await gw.client.request(method, path, content=body, headers=headers | auth)
            assert down.status_code == 503, (method, path, down.text)
            assert down.json()["service"] == "notifier"
            anonymous = await gw.client.request(method, path, content=body, headers=headers)
            assert anonymous.status_code == 401, (method, path)
            assert anonymous.headers["content-type"] == "application/problem+json"


async def test_market_data_down_is_503_and_the_alert_is_not_set(make_gateway: MakeGateway) -> None:
    notifier = FakeNotifier()
    async with make_gateway(notifier=notifier, transports={"market-data": Unreachable()}) as gw:
        _, auth, _ = await gw.user()
        method, path, body = ROUTES[0]
        headers = {**auth, "Content-Type": "application/json"}
        down = await gw.client.request(method, path, content=body, headers=headers)
        assert down.status_code == 503, down.text
        assert down.json()["service"] == "market-data"
        assert notifier.requests == []
