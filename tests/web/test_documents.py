"""The documents page: an upload with its progress bar, the row turning "indexed" live
from the `documents` channel, a search whose passage highlights the query, and delete."""

from __future__ import annotations

import uuid

from playwright.async_api import expect

from ..stack import Stack, in_stack_loop
from .browser import WebApp

# Records every value the upload's progress bar shows, from the page's own DOM.
WATCH_PROGRESS = """
() => {
  window.__progress = [];
  const bar = document.querySelector('progress');
  new MutationObserver(() => window.__progress.push(Number(bar.value)))
    .observe(bar, { attributes: true, attributeFilter: ['value'] });
}
"""


@in_stack_loop
async def test_upload_indexed_live_search_and_delete(web: WebApp, stack: Stack) -> None:
    await web.sign_up("web-documents")
    await web.go("/documents")
    page = web.page
    # Loaded: the empty state, or the shared knowledge base the session may hold.
    await expect(page.locator("#main .status.loading")).to_have_count(0)
    await expect(page.locator("tr", has_text="margins.md")).to_have_count(0)
    marker = f"zephyr{uuid.uuid4().hex[:8]}"
    text = f"# Margin notes\n\nThe {marker} plan keeps AAPL's gross margin above 45 %.\n" * 200
    await page.get_by_label("Document (PDF, Markdown, text, HTML or JSON)").set_input_files(
        files=[{"name": "margins.md", "mimeType": "text/markdown", "buffer": text.encode()}]
    )
    await page.get_by_label("Tags, comma-separated (optional)").fill("research")
    await page.evaluate(WATCH_PROGRESS)
    await page.get_by_role("button", name="Upload").click()
    await expect(page.locator(".upload .feedback")).to_contain_text("Uploaded margins.md")
    shown: list[float] = await page.evaluate("() => window.__progress")
    assert shown, "the progress bar never moved"
    assert shown[-1] == 100
    assert shown == sorted(shown)

    row = page.locator("tr", has_text="margins.md")
    await expect(row.locator(".badge")).to_have_text("indexed", timeout=60_000)
    document_id = await row.get_attribute("data-document-id")
    indexed = [f["data"]["document_id"] for f in web.events("DocumentIndexed")]
    assert document_id in indexed, "the row turned indexed from the socket's event"
    await expect(page.locator("#main .feedback").nth(1)).to_contain_text("margins.md is indexed")

    await page.get_by_label("Search your documents").fill(marker)
    await page.get_by_role("button", name="Search").click()
    hit = page.locator("li.hit").first
    await expect(hit).to_have_attribute("data-document-id", str(document_id))
    await expect(hit.locator(".snippet mark").first).to_have_text(marker)
    await web.check_and_capture("documents")

    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Delete margins.md").click()
    await expect(row).to_have_count(0)
    listed = await stack.client.get("/api/v1/documents", headers=stack.a.headers)
    assert document_id not in listed.text
