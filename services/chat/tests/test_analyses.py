"""Analyses over HTTP on the emulator: a request is 202 and queued, the chat service's
worker takes it off its own queue, progress and the end land in the analysis's stream,
the report's facts match an independent computation on the replay data, and the owner
alone sees it. Also: validation, cancelling, the budget, redelivery and poison
requests, and reports too large for the table."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
import pytest_asyncio

from marketscope_chat.analyses.reports import ReportStore
from marketscope_chat.analyses.repository import AnalysisRepository
from marketscope_chat.errors import AnalysisConflict
from marketscope_chat.store import UsageLedger
from marketscope_events import (
    CATALOG,
    Outcome,
)
from marketscope_events.catalog.events import AnalysisCancelled, AnalysisRequested
from marketscope_events.streams.repository import Loaded
from marketscope_platform.aws import AwsClients, AwsSettings
from marketscope_servicekit import Identity

from .analyses_support import Analyst, hand_consumer, running_analyst, wait_finished

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
PORTFOLIO = {"kind": "portfolio", "symbols": ["AAPL", "MSFT", "IBM"], "weights": [0.5, 0.3, 0.2]}
BUDGET = 20_000
NOTE = (
    "# Apple notes\n\nAAPL services revenue keeps growing; the iPhone cycle drives the "
    "stock. Margins held near 38 percent.\n"
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def analyst(
    provisioned: str, aws_settings: AwsSettings, internal_key: str, tmp_path_factory: Any
) -> AsyncIterator[Analyst]:
    index = tmp_path_factory.mktemp("analyses-rag") / "chroma"
    async with running_analyst(
        aws_settings, index, internal_key, daily_token_budget=BUDGET
    ) as running:
        yield running


def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


async def stream_events(analyst: Analyst, analysis_id: str) -> list[Any]:
    envelopes = await analyst.components.store.read(f"Analysis#{analysis_id}")
    return [CATALOG.decode(envelope) for envelope in envelopes]


async def closes(analyst: Analyst, owner: str, symbol: str) -> pd.Series:
    async with analyst.services.direct(analyst.services.market_data_url, Identity(owner)) as c:
        response = await c.get(f"/history/{symbol}", params={"period": "1y"})
    assert response.status_code == 200, response.text
    bars = response.json()["bars"]
    index = pd.to_datetime([bar["date"] for bar in bars])
    return pd.Series([bar["adj_close"] for bar in bars], index=index, name=symbol)


def close_enough(actual: float | None, expected: float) -> bool:
    return actual is not None and math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12)


async def test_a_portfolio_analysis_runs_off_the_queue_to_its_report(analyst: Analyst) -> None:
    owner = user()
    await analyst.services.upload(owner, "apple-notes.md", NOTE)
    async with analyst.client(owner) as client:
        accepted = await client.post("/analyses", json=PORTFOLIO)
        assert accepted.status_code == 202, accepted.text
        analysis_id = accepted.json()["analysis_id"]
        assert accepted.headers["location"] == f"/analyses/{analysis_id}"
        assert accepted.json()["status"] == "queued"
        done = await wait_finished(client, analysis_id)
        listed = (await client.get("/analyses")).json()["items"]
        usage = (await client.get("/usage")).json()

    assert done["status"] == "completed", done
    report = done["report"]
    facts = report["content"]["facts"]
    assert [stock["symbol"] for stock in facts["stocks"]] == ["AAPL", "MSFT", "IBM"]
    assert facts["portfolio"]["weights"] == {"AAPL": 0.5, "MSFT": 0.3, "IBM": 0.2}
    assert report["content"]["narrative"]["offline"] is True
    grounding = report["content"]["grounding"]
    assert grounding["ungrounded"] == 0, [
        n for n in grounding["numbers"] if n["status"] != "grounded"
    ]
    assert report["content"]["grounding"]["grounded"] >= 20
    # The passage that mentions AAPL is cited next to it, and only there.
    aapl = facts["stocks"][0]
    assert [p["filename"] for p in aapl["passages"]] == ["apple-notes.md"]
    assert all(not stock["passages"] for stock in facts["stocks"][1:])
    assert "[1]" in report["content"]["narrative"]["text"]
    assert "## Facts" in report["markdown"]
    assert "| AAPL |" in report["markdown"]
    assert report["summary"].startswith("Portfolio of AAPL, MSFT, IBM")
    # Every call of the gathering ran, at once (their spans overlap).
    calls = report["content"]["tool_calls"]
    assert {c["name"] for c in calls} == {
        "quote",
        "indicators",
        "risk",
        "profile",
        "search_documents",
        "portfolio_risk",
    }
    assert all(c["ok"] for c in calls)
    # The owner's list and usage show it.
    assert listed[0]["analysis_id"] == analysis_id
    assert listed[0]["status"] == "completed"
    assert usage["today"]["tokens"] == report["prompt_tokens"] + report["completion_tokens"] > 0

    events = await stream_events(analyst, analysis_id)
    names = [event.envelope.event_type.name for event in events]
    assert names[0] == "AnalysisRequested"
    assert names[1] == "AnalysisStarted"
    assert names[-1] == "AnalysisCompleted"
    progress = [
        event.data for event in events if event.envelope.event_type.name == "AnalysisProgressed"
    ]
    stages = list(dict.fromkeys(p.stage for p in progress))
    assert stages == ["gathering", "computing", "searching", "writing"]
    assert [p.percent for p in progress] == sorted(p.percent for p in progress)
    # Updates within a stage are throttled, but the stage's last one is never dropped.
    gathering = [p.message for p in progress if p.stage == "gathering"]
    assert gathering[-1] == "Gathering data: 3/3 symbols", gathering
    completed = events[-1].data
    assert completed.link == f"/api/v1/analyses/{analysis_id}"
    assert completed.summary == report["summary"]


async def test_the_facts_match_an_independent_computation(analyst: Analyst) -> None:
    owner = user()
    async with analyst.client(owner) as client:
        accepted = await client.post("/analyses", json=PORTFOLIO)
        done = await wait_finished(client, accepted.json()["analysis_id"])
    facts = done["report"]["content"]["facts"]
    symbols, weights = PORTFOLIO["symbols"], np.array(PORTFOLIO["weights"])
    series = [await closes(analyst, owner, s) for s in [*symbols, "^GSPC"]]
    frame = pd.concat(series, axis=1, join="inner").dropna()
    returns = frame.pct_change().dropna()
    benchmark = returns["^GSPC"]
    for stock in facts["stocks"]:
        pair = pd.concat([frame[stock["symbol"]], frame["^GSPC"]], axis=1).dropna()
        r = pair.pct_change().dropna()[stock["symbol"]]
        b = pair.pct_change().dropna()["^GSPC"]
        assert stock["observations"] == len(r)
        assert close_enough(stock["volatility"], float(r.std(ddof=1)) * math.sqrt(252))
        growth = float((1 + r).prod())
        assert close_enough(stock["annualised_return"], growth ** (252 / len(r)) - 1)
        assert close_enough(stock["var_95"], -float(np.percentile(r, 5)))
        assert close_enough(stock["beta"], float(r.cov(b)) / float(b.var()))
        close = pair[stock["symbol"]]
        assert close_enough(stock["max_drawdown"], float((close / close.cummax() - 1).min()))
    assets = returns[symbols]
    portfolio_returns = assets.to_numpy() @ weights
    covariance = np.cov(assets.to_numpy(), rowvar=False, ddof=1)
    volatility = math.sqrt(float(weights @ covariance @ weights)) * math.sqrt(252)
    portfolio = facts["portfolio"]
    assert close_enough(portfolio["volatility"], volatility)
    assert close_enough(portfolio["var_95"], -float(np.percentile(portfolio_returns, 5)))
    sigmas = assets.std(ddof=1).to_numpy() * math.sqrt(252)
    assert close_enough(portfolio["diversification_ratio"], float(weights @ sigmas) / volatility)
    shares = weights * (covariance @ weights) / float(weights @ covariance @ weights)
    reported = {c["symbol"]: c["contribution"] for c in portfolio["risk_contributions"]}
    for symbol, share in zip(symbols, shares, strict=True):
        assert close_enough(reported[symbol], float(share))
    assert portfolio["largest_risk_contributor"] == symbols[int(np.argmax(shares))]
    correlation = assets.corr()
    assert close_enough(portfolio["correlation"]["AAPL"]["MSFT"], correlation.loc["AAPL", "MSFT"])
    assert len(benchmark) == portfolio["observations"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"kind": "stock", "symbols": ["NOPE1"]},
            "Unknown symbols: NOPE1. The market data here covers only AAPL, FB, GOOG",
        ),
        ({"kind": "portfolio", "symbols": ["AAPL", "MSFT"], "weights": [0.5, 0.6]}, "sum to 1.1"),
        ({"kind": "portfolio", "symbols": ["AAPL", "MSFT"], "weights": [1.0]}, "1 weights for 2"),
        ({"kind": "portfolio", "symbols": [f"S{n}" for n in range(26)]}, "at most 25 symbols"),
        ({"kind": "stock", "symbols": ["AAPL", "MSFT"]}, "covers one symbol"),
        ({"kind": "portfolio", "symbols": ["AAPL", "aapl"]}, "Symbols repeat: AAPL"),
        ({"kind": "bond", "symbols": ["AAPL"]}, "kind"),
        ({"kind": "portfolio", "symbols": ["AAPL", "MSFT"], "weights": [1.0, 1e308]}, "weights"),
        ({"kind": "portfolio", "symbols": ["^GSPC", "MSFT"]}, "symbols"),
    ],
)
async def test_bad_requests_are_422_problems_and_store_nothing(
    analyst: Analyst, body: dict[str, Any], detail: str
) -> None:
    owner = user()
    async with analyst.client(owner) as client:
        response = await client.post("/analyses", json=body)
        listed = (await client.get("/analyses")).json()
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert detail in json.dumps(response.json())
    assert listed["items"] == []


async def test_another_users_analysis_is_a_404(analyst: Analyst) -> None:
    owner, other = user(), user()
    async with analyst.client(owner) as client:
        accepted = await client.post("/analyses", json={"kind": "stock", "symbols": ["IBM"]})
        analysis_id = accepted.json()["analysis_id"]
        await wait_finished(client, analysis_id)
    async with analyst.client(other) as client:
        assert (await client.get(f"/analyses/{analysis_id}")).status_code == 404
        assert (await client.delete(f"/analyses/{analysis_id}")).status_code == 404
        assert (await client.get("/analyses")).json()["items"] == []


async def test_a_queued_analysis_can_be_cancelled_and_a_finished_one_cannot(
    analyst: Analyst, aws_settings: AwsSettings
) -> None:
    owner = user()
    requested = CATALOG.new_event(
        AnalysisRequested(
            analysis_id=f"ana_{uuid.uuid4().hex}",
            owner=owner,
            kind="stock",
            symbols=["MSFT"],
            requested_at=datetime.now(UTC),
        )
    )
    analysis_id = requested.data["analysis_id"]
    # Queued, with no worker told yet: the request is in the stream but not published.
    await analyst.components.store.append(
        f"Analysis#{analysis_id}", [requested], expected_version=0, publish=False
    )
    async with analyst.client(owner) as client:
        queued = (await client.get(f"/analyses/{analysis_id}")).json()
        cancelled = await client.delete(f"/analyses/{analysis_id}")
        body = (await client.get(f"/analyses/{analysis_id}")).json()
        again = await client.delete(f"/analyses/{analysis_id}")
    assert queued["status"] == "queued"
    assert cancelled.status_code == 204, cancelled.text
    assert body["status"] == "cancelled"
    assert body["report"] is None
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    # The request reaching a worker now changes nothing.
    async with hand_consumer(aws_settings, analyst, "cancelled") as hand:
        await hand.deliver(requested.to_json())
        reports = await hand.consumer.poll_once()
    assert [r.outcome for r in reports] == [Outcome.HANDLED]
    names = [e.envelope.event_type.name for e in await stream_events(analyst, analysis_id)]
    assert names == ["AnalysisRequested", "AnalysisCancelled"]


async def test_a_job_the_budget_has_no_room_for_fails_before_the_model(
    analyst: Analyst, aws_settings: AwsSettings
) -> None:
    owner = user()
    aws = AwsClients(aws_settings)
    try:
        ledger = UsageLedger(await aws.client("dynamodb"), "marketscope-chat")
        # Earlier today the owner used most of the day's budget.
        await ledger.charge(
            owner,
            datetime.now(UTC).date(),
            model="gpt-4o-mini",
            prompt_tokens=BUDGET - 1_000,
            completion_tokens=0,
            cost_usd=0.0,
        )
    finally:
        await aws.close()
    async with analyst.client(owner) as client:
        accepted = await client.post("/analyses", json={"kind": "stock", "symbols": ["AAPL"]})
        assert accepted.status_code == 202, accepted.text
        body = await wait_finished(client, accepted.json()["analysis_id"])
        usage = (await client.get("/usage")).json()
    assert body["status"] == "failed"
    assert body["error"]["retryable"] is False
    assert body["error"]["reason"].startswith("budget: Today's budget has no room")
    assert usage["today"]["tokens"] == BUDGET - 1_000  # the model was never called


async def test_a_redelivered_request_never_runs_twice(
    analyst: Analyst, aws_settings: AwsSettings
) -> None:
    owner = user()
    async with analyst.client(owner) as client:
        accepted = await client.post("/analyses", json={"kind": "stock", "symbols": ["GOOG"]})
        analysis_id = accepted.json()["analysis_id"]
        await wait_finished(client, analysis_id)
    before = await stream_events(analyst, analysis_id)
    request = (await analyst.components.store.read(f"Analysis#{analysis_id}"))[0]
    async with hand_consumer(aws_settings, analyst, "redelivery") as hand:
        await hand.deliver(request.to_json())
        first = await hand.consumer.poll_once()
        # Even with its idempotency record gone, the stream says it is done.
        await hand.idempotency.release("chat", request.id)
        await hand.deliver(request.to_json())
        second = await hand.consumer.poll_once()
    assert [r.outcome for r in first] == [Outcome.DUPLICATE]
    assert [r.outcome for r in second] == [Outcome.HANDLED]
    assert len(await stream_events(analyst, analysis_id)) == len(before)


async def test_a_poison_request_ends_in_the_dlq_with_its_reason(
    analyst: Analyst, aws_settings: AwsSettings
) -> None:
    ghost = CATALOG.new_event(
        AnalysisRequested(
            analysis_id=f"ana_{uuid.uuid4().hex}",
            owner=user(),
            kind="stock",
            symbols=["AAPL"],
            requested_at=datetime.now(UTC),
        )
    )
    malformed = json.dumps(
        {**json.loads(ghost.to_json()), "id": str(uuid.uuid4()), "data": {"symbols": []}}
    )
    async with hand_consumer(aws_settings, analyst, "poison") as hand:
        await hand.deliver(ghost.to_json(), malformed)
        reports = []
        for _ in range(8):
            reports += await hand.consumer.poll_once()
        dead = await hand.sqs.receive_message(
            QueueUrl=hand.queue.dlq.url, MaxNumberOfMessages=10, WaitTimeSeconds=2
        )
    reasons = {r.event_id: r.reason for r in reports if r.outcome is Outcome.REJECTED}
    assert "is not in the chat table" in str(reasons[ghost.id])
    assert "InvalidEventData" in str(reasons[json.loads(malformed)["id"]])
    assert sorted(m["Body"] for m in dead["Messages"]) == sorted([ghost.to_json(), malformed])


async def test_a_report_too_large_for_an_item_goes_to_s3(aws_settings: AwsSettings) -> None:
    aws = AwsClients(aws_settings)
    try:
        reports = ReportStore(
            await aws.client("dynamodb"),
            "marketscope-chat",
            await aws.client("s3"),
            "marketscope-documents",
            "chat/",
            inline_limit=1_000,
        )
        analysis_id = f"ana_{uuid.uuid4().hex}"
        big = {"facts": {"rows": list(range(500))}}
        expires = datetime.now(UTC) + timedelta(days=1)
        where = await reports.put(analysis_id, big, "# big\n" * 200, expires_at=expires)
        small = await reports.put(f"{analysis_id}-small", {"a": 1}, "# a\n", expires_at=expires)
        listed = await (await aws.client("s3")).list_objects_v2(
            Bucket="marketscope-documents", Prefix=where
        )
        read = await reports.get(analysis_id)
    finally:
        await aws.close()
    assert where == f"chat/analyses/{analysis_id}/"
    assert small == "table"
    assert sorted(o["Key"] for o in listed["Contents"]) == [
        where + "report.json",
        where + "report.md",
    ]
    assert read is not None
    assert read.report == big
    assert read.markdown == "# big\n" * 200


async def test_an_append_after_the_stream_moved_on_is_a_conflict(analyst: Analyst) -> None:
    owner = user()
    async with analyst.client(owner) as client:
        accepted = await client.post("/analyses", json={"kind": "stock", "symbols": ["IBM"]})
        analysis_id = accepted.json()["analysis_id"]
        await wait_finished(client, analysis_id)
    dynamodb = await analyst.components.aws.client("dynamodb")
    repository = AnalysisRepository(analyst.components.store, dynamodb, "marketscope-chat")
    loaded = await repository.load(analysis_id)
    assert loaded is not None
    stale = Loaded(loaded.state, loaded.version - 1)
    cancel = CATALOG.new_event(
        AnalysisCancelled(analysis_id=analysis_id, cancelled_at=datetime.now(UTC)),
        subject=analysis_id,
    )
    with pytest.raises(AnalysisConflict):
        await repository.append(
            stale, analysis_id, [cancel], expires_at=datetime.now(UTC) + timedelta(days=1)
        )
