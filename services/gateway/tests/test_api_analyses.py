"""Analysis jobs through the gateway: queued, listed, read and cancelled in chat with
the caller's identity, the body as the client sent it, chat's links and problems naming
the gateway's paths, and the gateway's own shape checks before chat is asked."""

from __future__ import annotations

import json

import pytest

from .conftest import MakeGateway
from .fakes import FakeChat, Unreachable

pytestmark = pytest.mark.integration
PORTFOLIO = {"kind": "portfolio", "symbols": ["AAPL", "MSFT"], "weights": [0.6, 0.4]}


async def test_a_queued_analysis_is_chats_answer_located_on_the_gateway(
    make_gateway: MakeGateway,
) -> None:
    chat = FakeChat()
    async with make_gateway(chat=chat) as gw:
        _, auth, tokens = await gw.user()
        # The client's JSON goes to chat byte for byte, defaults and unknown fields as sent.
        sent = b'{"kind": "stock",  "symbols": ["AAPL"], "benchmark": "^GSPC", "x": 1}'
        queued = await gw.client.post(
            "/api/v1/analyses",
            content=sent,
            headers={**auth, "Content-Type": "application/json"},
        )
        assert queued.status_code == 202, queued.text
        analysis_id = queued.json()["analysis_id"]
        assert queued.json()["status"] == "queued"
        assert queued.headers["location"] == f"/api/v1/analyses/{analysis_id}"
        assert chat.bodies[-1] == sent
        assert chat.analysis_requests == [("POST", "/analyses")]
        assert chat.callers[-1].user_id == tokens["user"]["user_id"]

        located = await gw.client.get(queued.headers["location"], headers=auth)
        assert located.status_code == 200
        assert located.json()["analysis_id"] == analysis_id
        assert chat.analysis_requests[-1] == ("GET", f"/analyses/{analysis_id}")


async def test_analyses_are_listed_read_and_cancelled_for_the_caller(
    make_gateway: MakeGateway,
) -> None:
    chat = FakeChat()
    async with make_gateway(chat=chat) as gw:
        _, auth, tokens = await gw.user()
        _, other_auth, _ = await gw.user()
        ids = []
        for _ in range(3):
            queued = await gw.client.post("/api/v1/analyses", json=PORTFOLIO, headers=auth)
            ids.append(queued.json()["analysis_id"])

        page = await gw.client.get("/api/v1/analyses", params={"limit": 2}, headers=auth)
        assert page.status_code == 200
        assert [item["analysis_id"] for item in page.json()["items"]] == ids[:0:-1]
        assert chat.analysis_requests[-1] == ("GET", "/analyses?limit=2")
        cursor = page.json()["next_cursor"]
        last = await gw.client.get(
            "/api/v1/analyses", params={"limit": 2, "cursor": cursor}, headers=auth
        )
        assert [item["analysis_id"] for item in last.json()["items"]] == ids[:1]
        assert chat.analysis_requests[-1] == ("GET", f"/analyses?limit=2&cursor={cursor}")
        assert chat.callers[-1].user_id == tokens["user"]["user_id"]
        theirs = await gw.client.get("/api/v1/analyses", headers=other_auth)
        assert theirs.json()["items"] == []

        cancelled = await gw.client.delete(f"/api/v1/analyses/{ids[0]}", headers=auth)
        assert cancelled.status_code == 204
        assert cancelled.content == b""
        assert chat.analysis_requests[-1] == ("DELETE", f"/analyses/{ids[0]}")
        assert chat.analyses[ids[0]]["status"] == "cancelled"
        read = await gw.client.get(f"/api/v1/analyses/{ids[0]}", headers=auth)
        assert read.json()["status"] == "cancelled"

        # Finished already: chat's 409, naming the gateway's path.
        path = f"/api/v1/analyses/{ids[0]}"
        again = await gw.client.delete(path, headers=auth)
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        assert again.json()["detail"] == "The analysis is cancelled."
        assert again.json()["instance"] == path

        # Another user's analysis is not found, whatever the route, and stays as it was.
        path = f"/api/v1/analyses/{ids[1]}"
        for method in ("GET", "DELETE"):
            response = await gw.client.request(method, path, headers=other_auth)
            assert response.status_code == 404, (method, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["instance"] == path
        assert chat.analyses[ids[1]]["status"] == "queued"


async def test_chats_problems_are_relayed_and_bad_shapes_never_reach_chat(
    make_gateway: MakeGateway,
) -> None:
    chat = FakeChat()
    async with make_gateway(chat=chat) as gw:
        _, auth, _ = await gw.user()
        path = "/api/v1/analyses"
        unknown = await gw.client.post(
            path, json={"kind": "stock", "symbols": ["NOPE"]}, headers=auth
        )
        assert unknown.status_code == 422  # chat's own rule, relayed
        assert unknown.headers["content-type"] == "application/problem+json"
        assert unknown.json()["detail"] == "Unknown symbols: ['NOPE']."
        assert unknown.json()["instance"] == path

        chat.budget_spent = True
        spent = await gw.client.post(path, json=PORTFOLIO, headers=auth)
        assert spent.status_code == 429
        assert spent.headers["retry-after"] == "3600"
        assert spent.json()["instance"] == path
        assert "location" not in spent.headers
        relayed = len(chat.analysis_requests)

        for bad in (
            {"kind": "bond", "symbols": ["AAPL"]},
            {"kind": "stock", "symbols": []},
            {"kind": "portfolio", "symbols": [f"S{n}" for n in range(26)]},
            {"kind": "stock", "symbols": ["AAPL;DROP"]},
            {"kind": "stock", "symbols": ["AAPL"], "horizon": "10y"},
            {"kind": "stock", "symbols": ["AAPL"], "weights": ["most"]},
            {"kind": "stock", "symbols": ["AAPL"], "question": "?" * 2001},
        ):
            response = await gw.client.post(path, json=bad, headers=auth)
            assert response.status_code == 422, (bad, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        listed = await gw.client.get(path, params={"limit": 101}, headers=auth)
        assert listed.status_code == 422
        odd_id = await gw.client.get(f"{path}/not.an.id", headers=auth)
        assert odd_id.status_code == 422
        assert len(chat.analysis_requests) == relayed


async def test_chat_down_is_503_and_no_caller_is_401(make_gateway: MakeGateway) -> None:
    async with make_gateway(transports={"chat": Unreachable()}) as gw:
        _, auth, _ = await gw.user()
        calls = [
            ("POST", "/api/v1/analyses", json.dumps(PORTFOLIO).encode()),
            ("GET", "/api/v1/analyses", b""),
            ("GET", "/api/v1/analyses/a1", b""),
            ("DELETE", "/api/v1/analyses/a1", b""),
        ]
        for method, path, body in calls:
            headers = {"Content-Type": "application/json"}
            down = await gw.client.request(method, path, content=body, headers=headers | auth)
            assert down.status_code == 503, (method, path, down.text)
            assert down.json()["service"] == "chat"
            anonymous = await gw.client.request(method, path, content=body, headers=headers)
            assert anonymous.status_code == 401, (method, path)
            assert anonymous.headers["content-type"] == "application/problem+json"
