"""The chat page: a question answered by the offline engine, streamed as server-sent
events read through fetch, shown with a card per tool call, its numbers marked grounded,
its token and cost footer; the conversation then listed, reopened with its messages, and
deleted; an unknown conversation's problem shown."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from playwright.async_api import Dialog, expect

from ..stack import Stack, in_stack_loop
from .browser import WebApp

QUESTION = "What is the price of AAPL and its 1y volatility?"
MESSAGES = re.compile(r"/api/v1/conversations/[^/]+/messages$")


def parse_stream(body: str) -> list[tuple[str, dict[str, Any]]]:
    """The events of a server-sent event stream, as (type, data)."""
    events: list[tuple[str, dict[str, Any]]] = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        lines = block.split("\n")
        kind = next((line[6:].strip() for line in lines if line.startswith("event:")), "")
        data = "\n".join(line[5:].strip() for line in lines if line.startswith("data:"))
        if data:
            events.append((kind, json.loads(data)))
    return events


def duration_text(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{round(ms)} ms"


@in_stack_loop
async def test_an_answer_streams_with_tool_cards_and_reopens(web: WebApp, stack: Stack) -> None:
    await web.sign_up("web-chat")
    page = web.page
    await web.go("/chat")
    await page.get_by_role("heading", name="Chat", level=1).wait_for()
    await expect(page.locator(".conversation-list .status.empty")).to_have_text(
        "No conversations yet."
    )
    await expect(page.locator(".thread .status.empty")).to_contain_text("No messages yet")

    async with page.expect_response(MESSAGES) as streamed:
        await page.get_by_label("Your question").fill(QUESTION)
        await page.get_by_role("button", name="Send").click()
    response = await streamed.value
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert (await response.request.all_headers())["accept"] == "text/event-stream"
    answer = page.locator(".message.assistant")
    await expect(answer).to_have_attribute("data-state", "completed")
    events = parse_stream(await response.text())
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "message.started"
    assert kinds[-1] == "message.completed"
    assert kinds.count("message.delta") > 1  # the text came in pieces
    started = events[0][1]
    assert started["offline"] is True

    # The question on the page, then the offline engine's answer saying so.
    await expect(page.locator(".message.user")).to_have_text(f"You{QUESTION}")
    await expect(answer.locator(".message-badge")).to_have_text("Offline engine")
    await expect(answer.locator(".offline-note")).to_be_visible()

    # One card per tool call, with its name, duration and result.
    calls = [data for kind, data in events if kind == "tool_call.completed"]
    assert {call["name"] for call in calls} >= {"quote", "risk"}, calls
    cards = answer.locator(".tool-call")
    await expect(cards).to_have_count(len(calls))
    for call in calls:
        card = answer.locator(f".tool-call[data-call-id='{call['call_id']}']")
        await expect(card).to_have_attribute("data-state", "ok" if call["ok"] else "failed")
        await expect(card.locator(".tool-name")).to_have_text(call["name"])
        await expect(card.locator(".tool-duration")).to_have_text(
            duration_text(call["duration_ms"])
        )
        await expect(card.locator(".tool-arguments")).not_to_be_visible()
        await card.locator("summary").click()  # collapsible: the arguments and result open
        await expect(card.locator(".tool-arguments")).to_have_text(
            json.dumps(call["arguments"], indent=2)
        )
        if call["ok"]:
            await expect(card.locator(".tool-summary")).to_have_text(call["summary"])

    # The answer's text, with its numbers marked as the grounding event says.
    completed = events[-1][1]["text"]
    assert "AAPL" in completed
    assert "offline engine" in completed.lower()
    first_line = re.sub(r"[*`_]", "", completed.strip().splitlines()[0])
    await expect(answer.locator(".answer")).to_contain_text(first_line)
    [grounding] = [data for kind, data in events if kind == "grounding"]
    assert grounding["grounded"] > 0, grounding
    assert grounding["ungrounded"] == 0, grounding
    grounded_texts = {n["text"] for n in grounding["numbers"] if n["status"] == "grounded"}
    marks = answer.locator(".answer .grounding-mark.grounded")
    assert await marks.count() >= 1
    assert set(await marks.all_text_contents()) <= grounded_texts
    assert grounding["numbers"][0]["text"] in await marks.all_text_contents()
    await expect(answer.locator(".answer .grounding-mark.ungrounded")).to_have_count(0)
    await expect(answer.locator(".grounding-summary")).to_contain_text(
        f"{grounding['grounded']} grounded and 0 ungrounded"
    )

    [usage] = [data for kind, data in events if kind == "usage"]
    footer = answer.locator("footer.usage")
    await expect(footer).to_contain_text(f"{usage['total_tokens']:,} tokens")
    await expect(footer).to_contain_text(f"{usage['prompt_tokens']:,} prompt")
    await expect(footer).to_contain_text("$")
    await web.check_and_capture("chat")

    # The conversation is listed, named by its question, and reopens with its messages.
    listed = page.locator(".conversation-list .conversation")
    await expect(listed).to_have_count(1)
    await expect(listed.locator(".conversation-title")).to_have_text(QUESTION)
    await expect(page.locator(".thread-panel h2")).to_have_text(QUESTION)
    await web.go("/chat")
    # Read afresh: the list as the page re-read it when the stream ended may predate the
    # answer's being stored.
    await expect(listed.locator(".conversation-meta")).to_contain_text("2 messages")
    await expect(page.locator(".thread .status.empty")).to_be_visible()
    await listed.get_by_role("link").click()
    await expect(page.locator(".thread-panel h2")).to_have_text(QUESTION)
    await expect(page.locator(".message.user")).to_have_text(f"You{QUESTION}")
    reopened = page.locator(".message.assistant")
    await expect(reopened).to_have_attribute("data-state", "completed")
    await expect(reopened.locator(".tool-call")).to_have_count(len(calls))
    await expect(reopened.locator(".message-badge")).to_have_text("Offline engine")
    await expect(reopened.locator(".answer")).to_contain_text(first_line)
    await expect(reopened.locator(".answer .grounding-mark.grounded").first).to_be_visible()
    await expect(reopened.locator("footer.usage")).to_contain_text(
        f"{usage['prompt_tokens']:,} prompt"
    )

    # Deleted: gone from the list, and the page goes back to a new conversation.
    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.once("dialog", accept)
    async with page.expect_response(re.compile(r"/api/v1/conversations/[^/]+$")) as removed:
        await page.get_by_role("button", name=f"Delete conversation {QUESTION}").click()
    assert (await removed.value).status == 204
    await expect(page.locator(".conversation-list .status.empty")).to_have_text(
        "No conversations yet."
    )
    await expect(page.locator(".thread-panel h2")).to_have_text("New conversation")

    # A new, empty conversation from the button.
    async with page.expect_response(re.compile(r"/api/v1/conversations$")) as made:
        await page.get_by_role("button", name="New conversation").click()
    created = await (await made.value).json()
    await page.wait_for_url(re.compile(rf"#/chat/{created['id']}$"))
    await expect(page.locator(".thread .status.empty")).to_contain_text("No messages yet")
    await expect(listed).to_have_count(1)
    await expect(listed.get_by_role("link")).to_have_attribute("aria-current", "page")
    await expect(listed.locator(".conversation-meta")).to_contain_text("0 messages")

    # An unknown conversation: its problem, as the gateway words it.
    unknown = uuid.uuid4().hex
    missing = await stack.client.get(f"/api/v1/conversations/{unknown}", headers=stack.a.headers)
    assert missing.status_code == 404
    await web.go(f"/chat/{unknown}")
    await expect(page.locator(".thread-panel .problem-title")).to_have_text(missing.json()["title"])
    await expect(page.locator(".composer")).to_be_hidden()


@in_stack_loop
async def test_an_answer_from_documents_cites_its_passages(web: WebApp, stack: Stack) -> None:
    await web.sign_up("web-chat-cites")
    page = web.page
    marker = f"quarry{uuid.uuid4().hex[:8]}"
    filename = f"{marker}-notes.md"
    await web.go("/documents")
    await page.get_by_label("Document (PDF, Markdown, text, HTML or JSON)").set_input_files(
        {
            "name": filename,
            "mimeType": "text/markdown",
            "buffer": (
                f"# Research notes\n\nThe {marker} project tracks Apple services revenue "
                "and its buybacks over the year.\n"
            ).encode(),
        }
    )
    await page.get_by_role("button", name="Upload").click()
    # Other rows may be the shared knowledge base: this upload's is the one named so.
    row = page.locator("tr", has_text=filename)
    await expect(row).to_have_attribute("data-status", "indexed", timeout=60_000)

    await web.go("/chat")
    async with page.expect_response(MESSAGES) as streamed:
        await page.get_by_label("Your question").fill(f"What do my documents say about {marker}?")
        await page.get_by_role("button", name="Send").click()
    answer = page.locator(".message.assistant")
    await expect(answer).to_have_attribute("data-state", "completed")
    events = parse_stream(await (await streamed.value).text())
    citations = [data for kind, data in events if kind == "citation"]
    assert citations, [kind for kind, _ in events]
    assert {c["filename"] for c in citations} == {filename}
    await expect(answer.locator(".tool-call .tool-name")).to_have_text(["search_documents"])
    links = answer.locator(".citations .citation")
    await expect(links).to_have_count(len({c["index"] for c in citations}))
    first = links.first
    await expect(first.locator(".citation-index")).to_have_text(f"[{citations[0]['index']}]")
    await expect(first.get_by_role("link")).to_have_text(filename)
    # The answer's own [n] markers link to the same passage.
    marker_link = answer.locator(".answer a.citation-ref").first
    await expect(marker_link).to_have_text(f"[{citations[0]['index']}]")
    href = await first.get_by_role("link").get_attribute("href")
    await expect(marker_link).to_have_attribute("href", str(href))

    # The citation opens the documents page searching for its passage.
    await first.get_by_role("link").click()
    await page.get_by_role("heading", name="Documents", level=1).wait_for()
    await expect(page.locator(".hits .hit").first).to_contain_text(marker)
    await expect(page.locator(".hits .hit .filename").first).to_contain_text(filename)


@in_stack_loop
async def test_an_alert_asked_for_is_offered_filled_in_on_the_alerts_page(web: WebApp) -> None:
    await web.sign_up("web-chat-alert")
    page = web.page
    await web.go("/chat")
    async with page.expect_response(MESSAGES):
        await page.get_by_label("Your question").fill("Set an alert when GOOG drops below 512.5")
        await page.get_by_role("button", name="Send").click()
    answer = page.locator(".message.assistant")
    await expect(answer).to_have_attribute("data-state", "completed")
    # The level is the user's own number: neither grounded nor ungrounded, and said so.
    await expect(answer.locator(".grounding-summary")).to_contain_text(
        "0 ungrounded of the 2 numbers checked against the tool results; 2 are from your question."
    )
    offer = answer.get_by_role("link", name="GOOG crosses down through 512.5")
    # The app's own page opens in this tab, not in a new one as outside links do.
    assert await offer.get_attribute("target") is None
    await offer.click()

    await page.get_by_role("heading", name="Alerts", level=1).wait_for()
    await expect(page.get_by_label("Symbol")).to_have_value("GOOG")
    await expect(page.get_by_label("Condition")).to_have_value("crossing_down")
    await expect(page.get_by_role("spinbutton", name="Level")).to_have_value("512.5")
    async with page.expect_response(re.compile(r"/api/v1/alerts$")) as created:
        await page.get_by_role("button", name="Create alert").click()
    alert = await (await created.value).json()
    assert (await created.value).status == 201, alert
    assert (alert["symbol"], alert["condition"]) == (
        "GOOG",
        {"kind": "crossing_down", "level": 512.5},
    ), alert
    await expect(page.locator("table.alerts tbody tr").first).to_contain_text("GOOG")
    assert web.errors == []
