"""The HTTP API over the emulator as the replay clock runs past the end of its data: quotes
hold the last close marked stale and publish nothing, risk and indicators keep answering,
and history outside the data is a problem that says which side it missed. Portfolio risk
is checked against numpy over the same replayed histories.

The series are real replay data under symbols of their own, so the quote streams these
tests append to (on the shared emulator) are theirs alone."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from marketscope_market_data.providers.replay import ReplayClock, ReplayProvider, load_dataset
from marketscope_market_data.store import stream_id

from .conftest import AppClient
from .fakes import unique_symbol

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dataset() -> dict[str, pd.DataFrame]:
    return load_dataset()


def aliased(
    dataset: dict[str, pd.DataFrame], start: date, **aliases: str
) -> tuple[ReplayProvider, dict[str, str]]:
    """A replay of ``aliases`` (name -> real ticker) under fresh symbols, with ^GSPC."""
    symbols = {name: unique_symbol() for name in aliases}
    series = {symbols[name]: dataset[ticker] for name, ticker in aliases.items()}
    series["^GSPC"] = dataset["^GSPC"]
    days = sorted({day.date() for day in dataset["AAPL"].index})
    return ReplayProvider(series, ReplayClock(days, start)), symbols


async def test_past_the_end_the_quote_holds_the_last_close_stale_and_publishes_nothing(
    app_client: AppClient, dataset
):
    provider, s = aliased(dataset, date(2013, 2, 28), apple="AAPL", microsoft="MSFT")
    async with app_client([provider]) as client:
        components = client.app.state.components
        before = (await client.get(f"/quotes/{s['apple']}")).json()
        provider.clock.advance()
        last_day = (await client.get(f"/quotes/{s['apple']}")).json()
        await components.service.refresh([s["apple"], s["microsoft"]])
        versions = [await components.store.current_version(stream_id(v)) for v in s.values()]

        provider.clock.advance(5)
        held = (await client.get(f"/quotes/{s['apple']}")).json()
        summary = await components.service.refresh([s["apple"], s["microsoft"]])
        after = [await components.store.current_version(stream_id(v)) for v in s.values()]

    assert (before["price"], before["stale"]) == (pytest.approx(441.40), False)
    # The cached quote of the day before is not served once the clock has moved on.
    assert (last_day["price"], last_day["stale"]) == (pytest.approx(430.47), False)
    assert held["price"] == pytest.approx(430.47)
    assert held["as_of"].startswith("2013-03-01T16:00:00")
    assert held["stale"] is True
    assert (summary.changed, summary.failed, summary.unknown) == (0, [], [])
    assert after == versions


async def test_risk_and_indicators_keep_answering_past_the_end(app_client: AppClient, dataset):
    provider, s = aliased(dataset, date(2013, 3, 1), apple="AAPL", microsoft="MSFT")
    provider.clock.advance(30)
    async with app_client([provider]) as client:
        risk = await client.get("/risk", params={"symbols": f"{s['apple']},{s['microsoft']}"})
        indicators = await client.get(f"/indicators/{s['apple']}")
    assert risk.status_code == 200, risk.text
    assert risk.json()["end"] == "2013-03-01"
    assert risk.json()["observations"] > 200
    assert indicators.status_code == 200, indicators.text
    assert indicators.json()["as_of"] == "2013-03-01"
    assert indicators.json()["indicators"]["sma_200"] is not None


async def test_history_outside_the_data_says_which_side(app_client: AppClient, dataset):
    provider, s = aliased(dataset, date(2013, 3, 1), apple="AAPL")
    provider.clock.advance(30)
    apple = s["apple"]
    async with app_client([provider]) as client:
        before = await client.get(
            f"/history/{apple}", params={"start": "1990-01-01", "end": "1995-01-01"}
        )
        after = await client.get(f"/history/{apple}", params={"start": "2013-03-04"})
        reversed_range = await client.get(
            f"/history/{apple}", params={"start": "2013-02-01", "end": "2013-01-01"}
        )
    for response in (before, after, reversed_range):
        assert response.headers["content-type"] == "application/problem+json"
    assert before.status_code == 404
    assert before.json()["position"] == "before-data"
    assert before.json()["data_begins"] == "2000-03-01"
    assert after.status_code == 404
    assert after.json()["position"] == "after-data"
    assert after.json()["data_ends"] == "2013-03-01"
    assert "begins after" in after.json()["detail"]
    assert reversed_range.status_code == 422
    assert reversed_range.json()["detail"] == "start 2013-02-01 is after end 2013-01-01."


async def test_portfolio_risk_matches_numpy_over_the_histories(app_client: AppClient, dataset):
    provider, s = aliased(dataset, date(2013, 3, 1), apple="AAPL", microsoft="MSFT", ibm="IBM")
    symbols = [s["apple"], s["microsoft"], s["ibm"]]
    weights = [0.5, 0.3, 0.2]
    params = {"symbols": ",".join(symbols), "period": "1y"}
    async with app_client([provider]) as client:
        response = await client.get("/risk/portfolio", params={**params, "weights": "0.5,0.3,0.2"})
        equal = await client.get("/risk/portfolio", params={**params, "benchmark": "none"})
        risk = await client.get("/risk", params=params)
        histories = [
            (await client.get(f"/history/{symbol}", params={"period": "1y"})).json()
            for symbol in [*symbols, "^GSPC"]
        ]
    assert response.status_code == 200, response.text
    body = response.json()
    closes = pd.DataFrame(
        {
            h["symbol"]: pd.Series(
                [bar["adj_close"] for bar in h["bars"]],
                index=pd.DatetimeIndex([bar["date"] for bar in h["bars"]]),
            )
            for h in histories
        }
    ).dropna()
    returns = closes.pct_change().dropna()
    held = returns[symbols].to_numpy()
    w = np.array(weights)
    portfolio = held @ w

    assert (body["symbols"], body["weights"], body["benchmark"]) == (symbols, weights, "^GSPC")
    assert body["start"] == closes.index[0].date().isoformat()
    assert body["end"] == "2013-03-01"
    assert body["observations"] == len(returns) > 200
    assert body["portfolio"]["annualised_volatility"] == pytest.approx(
        portfolio.std(ddof=1) * math.sqrt(252)
    )
    bench = returns["^GSPC"].to_numpy()
    assert body["portfolio"]["beta"] == pytest.approx(
        np.cov(portfolio, bench, ddof=1)[0, 1] / np.var(bench, ddof=1)
    )
    contributions = body["risk_contributions"]
    assert [c["symbol"] for c in contributions] == symbols
    assert sum(c["contribution"] for c in contributions) == pytest.approx(1.0)
    sigma = np.cov(held, rowvar=False, ddof=1)
    expected = w * (sigma @ w) / (w @ sigma @ w)
    assert [c["contribution"] for c in contributions] == pytest.approx(list(expected))
    assert body["largest_risk_contributor"] == symbols[int(np.argmax(expected))]
    assert body["diversification_ratio"] > 1
    # Each symbol's own metrics are the ones /risk gives over the same span.
    assert body["metrics"] == risk.json()["metrics"]
    assert body["correlation"] == risk.json()["correlation"]

    assert equal.status_code == 200, equal.text
    assert equal.json()["weights"] == pytest.approx([1 / 3] * 3)
    assert equal.json()["benchmark"] is None
    assert equal.json()["portfolio"]["beta"] is None


async def test_a_single_holding_portfolio_is_its_own_risk(app_client: AppClient, dataset):
    provider, s = aliased(dataset, date(2013, 3, 1), apple="AAPL")
    async with app_client([provider]) as client:
        response = await client.get(
            "/risk/portfolio", params={"symbols": s["apple"], "weights": "1"}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["diversification_ratio"] == pytest.approx(1.0)
    assert body["risk_contributions"][0]["contribution"] == pytest.approx(1.0)
    assert body["largest_risk_contributor"] == s["apple"]
    own = body["metrics"][0]
    assert body["portfolio"]["annualised_volatility"] == pytest.approx(own["annualised_volatility"])
    assert body["portfolio"]["beta"] == pytest.approx(own["beta"])


@pytest.mark.parametrize(
    ("symbols", "weights", "detail"),
    [
        (
            "{a},{m},{i}",
            "0.5,0.3,0.1",
            "The weights sum to 0.9; they must sum to 1 (within 1e-06).",
        ),
        ("{a},{m},{i}", "0.5,0.5", "Give one weight per symbol: 3 symbols, 2 weights."),
        ("{a},{m},{i}", "-0.2,0.7,0.5", "Each weight is a number from 0 to 1; not: -0.2."),
        ("{a},{m},{i}", "0.5,nan,0.5", "Each weight is a number from 0 to 1; not: nan."),
        ("{a},{m},{i}", "0.5,half,0.5", "Weights are comma-separated numbers; not numbers: half."),
        (
            "{a},{m},{a}",
            "0.4,0.3,0.3",
            "Each symbol may appear once in a portfolio; repeated: {a}.",
        ),
        (",".join(f"S{n}" for n in range(26)), None, "Give 1 to 25 comma-separated symbols."),
    ],
    ids=["sum", "count", "negative", "nan", "not-a-number", "duplicates", "26-symbols"],
)
async def test_portfolio_risk_refuses_invalid_portfolios(
    app_client: AppClient, dataset, symbols: str, weights: str | None, detail: str
):
    provider, s = aliased(dataset, date(2013, 3, 1), a="AAPL", m="MSFT", i="IBM")
    params = {"symbols": symbols.format(**s)}
    if weights is not None:
        params["weights"] = weights
    async with app_client([provider]) as client:
        response = await client.get("/risk/portfolio", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:marketscope:problem:invalid-request"
    assert response.json()["detail"] == detail.format(**s)


async def test_portfolio_risk_of_an_unknown_symbol_is_not_found(app_client: AppClient, dataset):
    provider, s = aliased(dataset, date(2013, 3, 1), apple="AAPL")
    async with app_client([provider]) as client:
        response = await client.get(
            "/risk/portfolio", params={"symbols": f"{s['apple']},NOPE", "weights": "0.5,0.5"}
        )
    assert response.status_code == 404, response.text
    assert response.json()["symbol"] == "NOPE"


async def test_a_days_history_leaves_memory_once_the_replay_moves_on(
    app_client: AppClient, dataset
):
    """Each replayed day asks for a new span: only the latest day's copy stays."""
    provider, s = aliased(dataset, date(2011, 3, 1), apple="AAPL")
    async with app_client([provider]) as client:
        cache = client.app.state.components.service.cache
        ends = []
        for _ in range(5):
            answer = await client.get(f"/history/{s['apple']}", params={"period": "6mo"})
            assert answer.status_code == 200, answer.text
            ends.append(answer.json()["end"])
            provider.clock.advance()
        kept = [key for key in cache._memory if key.startswith(f"history:{s['apple']}:")]
        stale = [key for key in cache._last_known if key.startswith(f"history:{s['apple']}:")]
    assert len(set(ends)) == 5  # five days, five spans
    assert len(kept) == 1
    assert kept[0].endswith(ends[-1])
    assert len(stale) <= 1
