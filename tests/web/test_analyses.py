"""The analyses pages: a portfolio analysis requested through the form (weights that do
not sum to 1 refused with chat's problem), its progress bar moved by the WebSocket
`analyses` channel up to the end, the report re-read on completion with its figures,
correlation matrix, chart and narrative; the list showing it completed."""

from __future__ import annotations

import re

from playwright.async_api import Response, expect

from ..stack import Stack, in_stack_loop
from .browser import WebApp

SYMBOLS = ["AAPL", "MSFT", "IBM", "GOOG"]
WEIGHTS = "0.4, 0.3, 0.2, 0.1"
TITLE = "Portfolio analysis: AAPL, MSFT, IBM, GOOG"
ANALYSES = re.compile(r"/api/v1/analyses$")
REPORT_SECONDS = 90_000
# Every value the page's progress bar takes, from insertion on: set before the request.
RECORD_PROGRESS = """
() => {
  window.__percents = [];
  const record = (bar) => window.__percents.push(Number(bar.getAttribute('value')));
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.type === 'attributes' && change.target.matches('progress.analysis-progress')) {
        record(change.target);
      }
      for (const node of change.addedNodes) {
        if (node.nodeType !== Node.ELEMENT_NODE) continue;
        const bars = node.matches('progress.analysis-progress') ? [node] : [];
        bars.push(...node.querySelectorAll('progress.analysis-progress'));
        bars.forEach(record);
      }
    }
  }).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['value'],
  });
}
"""


def fraction(value: float) -> str:
    text = f"{abs(value) * 100:,.2f}%"
    return f"\u2212{text}" if value < 0 else text


def ratio(value: float) -> str:
    return f"{chr(0x2212) if value < 0 else ''}{abs(value):,.2f}"


async def request(web: WebApp, weights: str) -> Response:
    page = web.page
    await page.get_by_label("Portfolio (2 to 25 symbols)").check()
    await page.get_by_label("Symbols, comma-separated").fill(", ".join(SYMBOLS))
    await page.get_by_label("Weights, comma-separated (portfolio, optional)").fill(weights)
    await page.get_by_label("Question (optional)").fill("Which holding carries the most risk?")
    async with page.expect_response(ANALYSES) as answered:
        await page.get_by_role("button", name="Request analysis").click()
    return await answered.value


@in_stack_loop
async def test_a_portfolio_analysis_progresses_to_its_report(web: WebApp, stack: Stack) -> None:
    await web.sign_up("web-analyses")
    page = web.page
    await web.go("/analyses")
    await page.get_by_role("heading", name="Analyses", level=1).wait_for()
    await expect(page.locator(".status.empty")).to_have_text("No analyses yet: request one above.")

    # Weights that are not numbers are refused before anything is sent.
    await page.get_by_label("Portfolio (2 to 25 symbols)").check()
    await page.get_by_label("Weights, comma-separated (portfolio, optional)").fill("half, half")
    await page.get_by_label("Symbols, comma-separated").fill("AAPL, MSFT")
    await page.get_by_role("button", name="Request analysis").click()
    await expect(page.locator(".problem-title")).to_have_text("Weights must be numbers")

    refused = await request(web, "0.5, 0.3, 0.3, 0.1")
    assert refused.status == 422
    problem = await refused.json()
    await expect(page.locator(".problem-title")).to_have_text(problem["title"])
    await expect(page.locator(".problem-detail")).to_have_text(problem["detail"])

    reads: list[Response] = []
    page.on("response", lambda r: reads.append(r) if r.request.method == "GET" else None)
    await page.evaluate(RECORD_PROGRESS)
    accepted = await request(web, WEIGHTS)
    assert accepted.status == 202, await accepted.text()
    analysis_id = (await accepted.json())["analysis_id"]
    await page.wait_for_url(re.compile(rf"#/analyses/{analysis_id}$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)

    view = page.locator(".view")
    await expect(view).to_have_attribute("data-status", "completed", timeout=REPORT_SECONDS)
    await expect(page.locator(".progress-message")).to_have_text("Completed.")
    percents: list[float] = await page.evaluate("() => window.__percents")
    assert percents == sorted(percents), percents
    assert percents[-1] == 100, percents
    assert any(0 < p < 100 for p in percents), percents  # seen between start and end
    # The bar moved with the socket's progress events of this analysis (never backwards:
    # one that arrives after a later one is not shown).
    heard = [
        f["data"]["percent"]
        for f in web.events("AnalysisProgressed")
        if f["data"]["analysis_id"] == analysis_id
    ]
    assert heard, "no progress event reached the page"
    assert set(percents) - {0, 100} <= set(heard), (heard, percents)
    assert max(heard) in percents
    assert [f for f in web.events("AnalysisCompleted") if f["data"]["analysis_id"] == analysis_id]

    # The report, as the last read of the analysis gave it.
    path = f"/api/v1/analyses/{analysis_id}"
    detail = await [r for r in reads if r.url.endswith(path)][-1].json()
    assert detail["status"] == "completed"
    facts = detail["report"]["content"]["facts"]
    await expect(page.locator(".report-summary")).to_have_text(detail["report"]["summary"])
    figures = page.locator("table.per-symbol")
    await expect(figures.locator("thead th")).to_have_text(["Figure", *SYMBOLS])
    for column, stock in enumerate(facts["stocks"], start=2):
        volatility = figures.locator(f"tr[data-figure='volatility'] td:nth-child({column})")
        await expect(volatility).to_have_text(fraction(stock["volatility"]))
        drawdown = figures.locator(f"tr[data-figure='max-drawdown'] td:nth-child({column})")
        await expect(drawdown).to_have_text(fraction(stock["max_drawdown"]))
    portfolio = facts["portfolio"]
    figures_of_portfolio = page.locator("table.portfolio")
    await expect(figures_of_portfolio.locator("tr[data-figure='volatility'] td")).to_have_text(
        fraction(portfolio["volatility"])
    )
    await expect(
        figures_of_portfolio.locator("tr[data-figure='largest-contributor'] td")
    ).to_have_text(portfolio["largest_risk_contributor"])
    contributions = page.locator("table.contributions tbody tr")
    await expect(contributions).to_have_count(len(SYMBOLS))
    matrix = page.locator("table.correlation")
    await expect(matrix.locator("tbody tr")).to_have_count(len(SYMBOLS))
    await expect(matrix.locator("tbody td")).to_have_count(len(SYMBOLS) ** 2)
    await expect(matrix.locator("tr[data-symbol='AAPL'] td").nth(1)).to_have_text(
        ratio(portfolio["correlation"]["AAPL"]["MSFT"])
    )
    # The chart: a return and a volatility bar per holding and for the portfolio.
    await expect(page.locator(".risk-chart rect.bar-volatility")).to_have_count(len(SYMBOLS) + 1)
    narrative = detail["report"]["content"]["narrative"]
    assert narrative["offline"] is True
    await expect(page.locator(".narrative")).to_contain_text(
        f"{portfolio['largest_risk_contributor']} carries the most risk"
    )
    await expect(page.locator(".report .grounding-summary")).to_contain_text("0 ungrounded")
    await expect(page.locator(".progress-panel button")).to_be_hidden()
    await web.check_and_capture("analysis")

    # The list, newest first: the refused request left nothing behind.
    await page.get_by_role("link", name="All analyses").click()
    rows = page.locator("table.analyses tbody tr")
    await expect(rows).to_have_count(1)
    row = page.locator(f"tr[data-analysis-id='{analysis_id}']")
    await expect(row).to_have_attribute("data-status", "completed")
    await expect(row.get_by_role("link")).to_have_text(TITLE)
    await expect(row.locator(".analysis-summary")).to_have_text(detail["report"]["summary"])
    await web.check_and_capture("analyses")


@in_stack_loop
async def test_a_running_analysis_can_be_cancelled(web: WebApp, stack: Stack) -> None:
    await web.sign_up("web-analysis-cancel")
    page = web.page
    await web.go("/analyses")
    await page.get_by_label("Symbols, comma-separated").fill("IBM")
    async with page.expect_response(ANALYSES) as answered:
        await page.get_by_role("button", name="Request analysis").click()
    accepted = await answered.value
    assert accepted.status == 202, await accepted.text()
    analysis_id = (await accepted.json())["analysis_id"]
    await page.wait_for_url(re.compile(rf"#/analyses/{analysis_id}$"))

    # At once, while chat's worker has yet to finish it.
    path = re.compile(rf"/api/v1/analyses/{analysis_id}$")
    async with page.expect_response(
        lambda r: bool(path.search(r.url)) and r.request.method == "DELETE"
    ) as cancelled:
        await page.get_by_role("button", name="Cancel analysis").click()
    answer = await cancelled.value
    view = page.locator(".view")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Stock analysis: IBM")
    if answer.status == 204:
        await expect(view).to_have_attribute("data-status", "cancelled")
        await expect(page.locator(".analysis-outcome")).to_have_text("This analysis was cancelled.")
        await expect(page.locator(".report")).to_have_count(0)
    else:  # the worker was quicker: the analysis had already finished
        assert answer.status == 409, await answer.text()
        problem = await answer.json()
        await expect(page.locator(".progress-panel .problem-title")).to_have_text(problem["title"])
        await expect(view).to_have_attribute("data-status", "completed")

    # An analysis that is not the reader's (or does not exist): chat's problem.
    missing = await stack.client.get(
        f"/api/v1/analyses/{stack.a_owns.note.document_id}", headers=stack.b.headers
    )
    assert missing.status_code == 404
    await web.go(f"/analyses/{stack.a_owns.note.document_id}")
    await expect(page.locator(".problem-title")).to_have_text(missing.json()["title"])
    await expect(page.locator("progress.analysis-progress")).to_be_hidden()
