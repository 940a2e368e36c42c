"""The HTTP API over the emulator: replay data, validation, errors as problem+json."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import AppClient, identity_headers
from .fakes import FakeProvider, unique, unique_symbol

pytestmark = pytest.mark.integration


async def test_quote_from_replay_names_its_source_and_historical_date(app_client: AppClient):
    async with app_client() as client:
        response = await client.get("/quotes/aapl")
    assert response.status_code == 200
    quote = response.json()
    assert quote["symbol"] == "AAPL"
    assert quote["source"] == "replay"
    assert quote["stale"] is False
    # 2012-03-01, the default replay start: AAPL closed at 544.47 that day.
    assert quote["as_of"].startswith("2012-03-01T16:00:00")
    assert quote["price"] == pytest.approx(544.47)
    assert quote["change"] == pytest.approx(quote["price"] - quote["previous_close"])


async def test_unknown_symbol_is_404_problem(app_client: AppClient):
    async with app_client() as client:
        response = await client.get("/quotes/NOPE")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["symbol"] == "NOPE"
    # The offline replay's symbols are a closed list: the problem offers them.
    assert problem["known_symbols"] == ["AAPL", "FB", "GOOG", "IBM", "MSFT", "^GSPC"]
    assert problem["detail"] == (
        "No market data is known for 'NOPE'; the market data here covers only "
        "AAPL, FB, GOOG, IBM, MSFT, ^GSPC."
    )


async def test_batch_quotes_list_failures_beside_answers(app_client: AppClient):
    async with app_client() as client:
        response = await client.get("/quotes", params={"symbols": "AAPL,MSFT,NOPE"})
    body = response.json()
    assert response.status_code == 200
    assert [q["symbol"] for q in body["quotes"]] == ["AAPL", "MSFT"]
    assert body["errors"] == [
        {
            "symbol": "NOPE",
            "status": 404,
            "detail": "No market data is known for 'NOPE'; the market data here covers only "
            "AAPL, FB, GOOG, IBM, MSFT, ^GSPC.",
            "known_symbols": ["AAPL", "FB", "GOOG", "IBM", "MSFT", "^GSPC"],
        }
    ]


async def test_history_validates_interval_with_the_allowed_list(app_client: AppClient):
    async with app_client() as client:
        response = await client.get("/history/AAPL", params={"interval": "3m"})
    assert response.status_code == 422
    message = response.json()["errors"][0]["msg"]
    for allowed in ("1d", "1wk", "1mo"):
        assert allowed in message


async def test_history_by_period_and_by_dates(app_client: AppClient):
    async with app_client() as client:
        by_period = (await client.get("/history/MSFT", params={"period": "1mo"})).json()
        weekly = (
            await client.get(
                "/history/MSFT",
                params={"interval": "1wk", "start": "2011-01-01", "end": "2011-03-31"},
            )
        ).json()
        both = await client.get("/history/MSFT", params={"period": "1y", "start": "2011-01-01"})
    assert by_period["end"] == "2012-03-01"
    assert 19 <= len(by_period["bars"]) <= 23
    assert weekly["interval"] == "1wk"
    assert 12 <= len(weekly["bars"]) <= 14
    assert weekly["bars"][0]["date"] >= "2011-01-03"
    assert both.status_code == 422


async def test_provider_down_with_nothing_cached_is_503_with_retry_after(app_client: AppClient):
    provider = FakeProvider(prices={unique_symbol(): 1.0})
    provider.down = True
    async with app_client([provider]) as client:
        response = await client.get("/quotes/ZZZZ")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.headers["content-type"] == "application/problem+json"


async def test_provider_down_with_stale_cache_is_200_stale(app_client: AppClient):
    symbol = unique_symbol()
    provider = FakeProvider(prices={symbol: 42.0})
    async with app_client([provider], quote_ttl_seconds=1) as client:
        first = (await client.get(f"/quotes/{symbol}")).json()
        provider.down = True
        client.app.state.components.service.cache._memory.clear()  # type: ignore[attr-defined]
        await asyncio.sleep(1.1)
        second = await client.get(f"/quotes/{symbol}")
    assert first["stale"] is False
    assert second.status_code == 200
    assert second.json()["stale"] is True
    assert second.json()["price"] == 42.0


async def test_indicators_and_their_validation(app_client: AppClient):
    async with app_client() as client:
        response = await client.get("/indicators/IBM", params={"names": "sma,rsi,cross"})
        bad = await client.get("/indicators/IBM", params={"names": "sma,vwap"})
    body = response.json()
    assert response.status_code == 200
    assert body["names"] == ["sma", "rsi", "cross"]
    assert body["indicators"]["sma_200"] is not None
    assert 0 <= body["indicators"]["rsi_14"] <= 100
    assert body["indicators"]["macd"] is None
    assert bad.status_code == 422
    assert "vwap" in bad.json()["detail"]
    assert bad.json()["allowed"] == ["sma", "ema", "rsi", "macd", "bollinger", "atr", "cross"]


async def test_risk_against_the_sp500(app_client: AppClient):
    async with app_client() as client:
        response = await client.get("/risk", params={"symbols": "AAPL,MSFT"})
    body = response.json()
    assert response.status_code == 200, body
    assert body["benchmark"] == "^GSPC"
    assert body["observations"] > 200
    assert {m["symbol"] for m in body["metrics"]} == {"AAPL", "MSFT"}
    assert body["correlation"]["AAPL"]["AAPL"] == pytest.approx(1.0)
    assert all(m["beta"] is not None and m["var_95"] > 0 for m in body["metrics"])


async def test_profile(app_client: AppClient):
    async with app_client() as client:
        response = await client.get("/profile/MSFT")
    assert response.json()["name"] == "Microsoft Corporation"
    assert response.json()["source"] == "replay"


async def test_watchlists_are_per_owner(app_client: AppClient):
    owner, other = unique("user"), unique("user")
    async with app_client() as client:
        anonymous = await client.get(f"/watchlists/{owner}", auth=None)
        empty = await client.get(f"/watchlists/{owner}", headers=identity_headers(owner))
        saved = await client.put(
            f"/watchlists/{owner}",
            json={"symbols": ["AAPL", "IBM", "AAPL"]},
            headers=identity_headers(owner),
        )
        forbidden = await client.get(f"/watchlists/{owner}", headers=identity_headers(other))
        as_admin = await client.get(
            f"/watchlists/{owner}", headers=identity_headers(other, "admin")
        )
        refresh_targets = await client.app.state.components.service.refresh_targets()  # type: ignore[attr-defined]
    assert anonymous.status_code == 401
    assert empty.json() == {"owner": owner, "symbols": [], "updated_at": None}
    assert saved.json()["symbols"] == ["AAPL", "IBM"]
    assert forbidden.status_code == 403
    assert as_admin.json()["symbols"] == ["AAPL", "IBM"]
    assert {"AAPL", "IBM", "MSFT", "GOOG"} <= set(refresh_targets)


async def test_a_watchlist_with_unknown_symbols_is_refused_listing_them(app_client: AppClient):
    owner = unique("user")
    headers = identity_headers(owner)
    async with app_client() as client:
        refused = await client.put(
            f"/watchlists/{owner}",
            json={"symbols": ["AAPL", "NOPE", "FB", "ZZZZ9"]},
            headers=headers,
        )
        kept = await client.get(f"/watchlists/{owner}", headers=headers)
        # FB is in the replay's data, though the replay is before its first trading day.
        accepted = await client.put(
            f"/watchlists/{owner}", json={"symbols": ["AAPL", "FB"]}, headers=headers
        )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:marketscope:problem:unknown-symbols"
    assert refused.json()["unknown"] == ["NOPE", "ZZZZ9"]
    assert refused.json()["known_symbols"] == ["AAPL", "FB", "GOOG", "IBM", "MSFT", "^GSPC"]
    assert kept.json()["symbols"] == []
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["symbols"] == ["AAPL", "FB"]


async def test_a_watchlist_that_cannot_be_checked_now_is_503_with_retry_after(
    app_client: AppClient,
):
    owner, symbol = unique("user"), unique_symbol()
    provider = FakeProvider(prices={symbol: 1.0})
    provider.down = True
    async with app_client([provider]) as client:
        response = await client.put(
            f"/watchlists/{owner}", json={"symbols": [symbol]}, headers=identity_headers(owner)
        )
        saved = await client.app.state.components.service.watchlists.get(owner)  # type: ignore[attr-defined]
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert f"cannot check {symbol} now" in response.json()["detail"]
    assert saved is None
