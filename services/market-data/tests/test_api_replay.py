"""The HTTP API over the emulator as the replay clock runs past the end of its data: quotes
hold the last close marked stale and publish nothing, risk and indicators keep answering,
and history outside the data is a problem that says which side it missed.

The series are real replay data under symbols of their own, so the quote streams these
tests append to (on the shared emulator) are theirs alone."""

from __future__ import annotations

from datetime import date

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
