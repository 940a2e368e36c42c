"""An analysis the whole way, on the real stack (gateway, chat with the offline engine,
market-data, rag, one emulator): the gateway's REST client asks for it, the request goes
through the chat store's outbox, SNS and the chat queue to the worker, and the owner's
WebSocket on `analyses` sees its progress and its completion, with the report where the
event's link points."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from ...live import socket
from ...stack import Stack, in_stack_loop

ROOT = Path(__file__).resolve().parents[3]
REQUEST = {
    "kind": "portfolio",
    "symbols": ["AAPL", "MSFT", "IBM", "GOOG"],
    "weights": [0.4, 0.3, 0.2, 0.1],
    "question": "Which holding carries the most risk?",
}


def analysis_event(analysis_id: str, name: str) -> Any:
    def matches(frame: dict[str, Any]) -> bool:
        return (
            frame["type"] == "event"
            and frame["channel"] == "analyses"
            and frame["event"] == name
            and frame["data"]["analysis_id"] == analysis_id
        )

    return matches


@in_stack_loop
async def test_the_owners_socket_sees_progress_then_the_completed_report(stack: Stack) -> None:
    owner, other = await stack.api.register("analyst"), await stack.api.register("onlooker")
    async with socket(stack, owner) as mine, socket(stack, other) as theirs:
        for opened in (mine, theirs):
            reply = await opened.request({"type": "subscribe", "channel": "analyses", "id": "a"})
            assert reply["type"] == "subscribed", reply
        accepted = await stack.client.post("/api/v1/analyses", json=REQUEST, headers=owner.headers)
        assert accepted.status_code == 202, accepted.text
        analysis_id = accepted.json()["analysis_id"]
        assert accepted.headers["location"] == f"/api/v1/analyses/{analysis_id}"
        completed = await mine.wait_for(analysis_event(analysis_id, "AnalysisCompleted"))
        progress = [
            frame["data"]
            for frame in mine.frames
            if analysis_event(analysis_id, "AnalysisProgressed")(frame)
        ]
        seen_by_other = [f for f in theirs.frames if f["type"] == "event"]

    stages = [p["stage"] for p in progress]
    assert stages[0] == "gathering"
    assert {"computing", "searching", "writing"} <= set(stages)
    # Per symbol as its data is in: at most one event per quarter second of a stage, and
    # the stage's last update is held back, never dropped.
    gathering = [p["message"] for p in progress if p["stage"] == "gathering"]
    assert gathering[0] == "Gathering data for 4 symbols"
    assert gathering[-1] == "Gathering data: 4/4 symbols", gathering
    assert [p["percent"] for p in progress] == sorted(p["percent"] for p in progress)
    data = completed["data"]
    assert data["link"] == f"/api/v1/analyses/{analysis_id}"
    assert data["title"] == "Portfolio analysis: AAPL, MSFT, IBM, GOOG"
    assert seen_by_other == []  # another user's analyses never reach their socket

    report = await stack.client.get(data["link"], headers=owner.headers)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["status"] == "completed"
    assert body["report"]["summary"] == data["summary"]
    facts = body["report"]["content"]["facts"]
    largest = facts["portfolio"]["largest_risk_contributor"]
    assert largest in REQUEST["symbols"]
    assert f"{largest} carries the most risk" in body["report"]["content"]["narrative"]["text"]
    assert body["report"]["markdown"].startswith("# Portfolio analysis: AAPL, MSFT, IBM, GOOG")
    hidden = await stack.client.get(data["link"], headers=other.headers)
    assert hidden.status_code == 404
    assert hidden.headers["content-type"].startswith("application/problem+json")
    listed = await stack.client.get("/api/v1/analyses", headers=owner.headers)
    assert [item["analysis_id"] for item in listed.json()["items"]] == [analysis_id]
    assert json.loads(report.text)["report"]["content"]["grounding"]["ungrounded"] == 0


@in_stack_loop
async def test_the_readme_example_runs_against_the_stack(stack: Stack) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Analyses", 1)[1].split("\n## ", 1)[0]
    [example] = re.findall(r"```python\n(.*?)\n```", section, flags=re.DOTALL)
    owner = await stack.api.register("readme-analyses")
    created = await stack.client.post(
        "/api/v1/api-keys", json={"name": "readme"}, headers=owner.headers
    )
    assert created.status_code == 201, created.text
    code = example.replace("http://127.0.0.1:8000", str(stack.client.base_url).rstrip("/"))
    code = code.replace("msk_your_key", created.json()["key"])
    printed: list[str] = []
    namespace: dict[str, Any] = {"print": lambda *args: printed.append(" ".join(map(str, args)))}
    # The example's client is synchronous: it runs in a thread while the stack serves.
    await asyncio.to_thread(exec, compile(code, "README.md", "exec"), namespace)
    [markdown] = printed
    assert markdown.startswith("# Portfolio analysis: AAPL, MSFT, IBM")
    assert "## Facts" in markdown
