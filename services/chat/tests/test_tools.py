"""The analyst's tools against the real market-data and rag apps served on loopback (on
the emulator), called as the user; the client's retries and refusals and the toolbox's
concurrency, time limits and error results against a scripted service."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import typing
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, ClassVar

import httpx
import pytest
import pytest_asyncio
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from marketscope_chat.llm.base import ToolCall
from marketscope_chat.llm.tokens import count_tokens
from marketscope_chat.tools import arguments
from marketscope_chat.tools.base import Tool, ToolContext, ToolFailed, ToolOutput
from marketscope_chat.tools.clients import ServiceCaller, ServiceRefused, ServiceUnavailable
from marketscope_chat.tools.documents import SearchDocumentsTool
from marketscope_chat.tools.market import HistoryTool, QuoteTool, market_tools
from marketscope_chat.tools.toolbox import Toolbox, build_toolbox
from marketscope_market_data import schemas as market_schemas
from marketscope_platform.aws import AwsSettings
from marketscope_servicekit import Identity, MetricsRecorder
from marketscope_servicekit.calls import segment
from marketscope_servicekit.testing import free_port

from .tool_services import (
    QUICK_RETRY,
    Answer,
    Services,
    running_services,
    scripted_service,
    user,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def services(
    provisioned: str,
    aws_settings: AwsSettings,
    internal_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Services]:
    index_path = tmp_path_factory.mktemp("rag") / "chroma"
    async with running_services(aws_settings, index_path, internal_key) as running:
        yield running


def context(user_id: str = "analyst-user") -> ToolContext:
    return ToolContext(Identity(user_id), traceparent=TRACEPARENT)


def call(name: str, arguments: dict[str, Any] | str, call_id: str = "call-1") -> ToolCall:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(call_id, name, text)


async def direct_json(services: Services, path: str, **params: str) -> Any:
    async with services.direct(services.market_data_url, Identity("analyst-user")) as client:
        response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def run_one(toolbox: Toolbox, name: str, arguments: dict[str, Any], **kw: Any) -> Any:
    (result,) = await toolbox.run_all([call(name, arguments)], context(**kw))
    assert result.ok, result.error
    assert result.output is not None
    return result.output


# --- market-data, for real -------------------------------------------------------------


async def test_each_market_tool_answers_what_market_data_answers(services: Services) -> None:
    toolbox = build_toolbox(services.market_data(), services.rag())
    quote = await run_one(toolbox, "quote", {"symbol": "aapl"})
    assert quote.data == await direct_json(services, "/quotes/AAPL")
    assert json.loads(quote.for_model) == quote.data
    price, change = quote.data["price"], quote.data["change_percent"]
    assert quote.summary == (
        f"AAPL {price:.2f} USD ({change:+.1f} %) as of {quote.data['as_of'][:10]}, replay"
    )

    profile = await run_one(toolbox, "profile", {"symbol": "MSFT"})
    assert profile.data == await direct_json(services, "/profile/MSFT")
    assert profile.summary == "MSFT: Microsoft Corporation (NASDAQ, Technology)"

    indicators = await run_one(toolbox, "indicators", {"symbol": "ibm", "names": ["rsi", "sma"]})
    readings = indicators.data.pop("readings")
    assert indicators.data == await direct_json(services, "/indicators/IBM", names="sma,rsi")
    rsi = indicators.data["indicators"]["rsi_14"]
    assert rsi is not None
    # The RSI's conventional reading is added to what market-data answered.
    expected = "overbought" if rsi >= 70 else "oversold" if rsi <= 30 else "neutral"
    assert readings == {"rsi_14": {"state": expected, "overbought_at": 70, "oversold_at": 30}}
    assert indicators.data["indicators"]["macd"] is None  # not asked for

    risk = await run_one(toolbox, "risk", {"symbols": ["AAPL", "msft"], "period": "6mo"})
    assert risk.data == await direct_json(
        services, "/risk", symbols="AAPL,MSFT", benchmark="^GSPC", period="6mo"
    )
    assert json.loads(risk.for_model) == risk.data
    assert risk.summary.startswith("risk of AAPL, MSFT vs ^GSPC over ")

    portfolio = await run_one(
        toolbox, "portfolio_risk", {"symbols": ["AAPL", "MSFT"], "weights": [0.7, 0.3]}
    )
    assert portfolio.data == await direct_json(
        services,
        "/risk/portfolio",
        symbols="AAPL,MSFT",
        benchmark="^GSPC",
        period="1y",
        weights="0.7,0.3",
    )
    assert portfolio.summary.startswith("portfolio risk of AAPL, MSFT over ")
    assert portfolio.summary.endswith(
        f"largest risk contributor {portfolio.data['largest_risk_contributor']}"
    )

    compare = await run_one(toolbox, "compare", {"symbols": ["GOOG", "IBM"]})
    assert compare.data == {
        "symbols": ["GOOG", "IBM"],
        "quotes": await direct_json(services, "/quotes", symbols="GOOG,IBM"),
        "risk": await direct_json(services, "/risk", symbols="GOOG,IBM", period="1y"),
    }
    assert [q["symbol"] for q in compare.data["quotes"]["quotes"]] == ["GOOG", "IBM"]


async def test_history_shows_a_summary_and_the_latest_bars_within_its_budget(
    services: Services,
) -> None:
    tool = HistoryTool(services.market_data(), budget=700)
    args = HistoryTool.arguments.model_validate({"symbol": "aapl", "period": "2y"})
    output = await tool.run(args, context())
    full = await direct_json(services, "/history/AAPL", interval="1d", period="2y")
    bars = full["bars"]
    assert len(bars) > 400
    shown = json.loads(output.for_model)
    # Every bar is kept, with what the model is shown of them (grounding reads both).
    assert output.data == {**full, "bars_total": len(bars), "summary": shown["summary"]}

    assert count_tokens(output.for_model) <= 700
    assert shown["bars_total"] == len(bars)
    assert 0 < len(shown["last_bars"]) < len(bars)
    assert shown["last_bars"] == bars[-len(shown["last_bars"]) :]
    first, last = bars[0]["close"], bars[-1]["close"]
    assert shown["summary"] == {
        "start": bars[0]["date"],
        "end": bars[-1]["date"],
        "first_close": first,
        "last_close": last,
        "change_percent": (last - first) / first * 100,
        "high": max(bar["high"] for bar in bars),
        "low": min(bar["low"] for bar in bars),
        "average_volume": sum(bar["volume"] for bar in bars) / len(bars),
    }
    assert (shown["symbol"], shown["interval"], shown["source"]) == ("AAPL", "1d", "replay")
    # One bar more would not have fitted.
    longer = {**shown, "last_bars": bars[-len(shown["last_bars"]) - 1 :]}
    assert count_tokens(json.dumps(longer, separators=(",", ":"))) > 700

    monthly = await HistoryTool(services.market_data()).run(
        HistoryTool.arguments.model_validate({"symbol": "AAPL", "interval": "1mo"}), context()
    )
    assert json.loads(monthly.for_model)["last_bars"] == monthly.data["bars"]  # all fit


async def test_an_unknown_symbol_is_the_services_own_detail(services: Services) -> None:
    async with services.direct(services.market_data_url, Identity("analyst-user")) as client:
        problem = (await client.get("/quotes/NOSUCH1")).json()
    with pytest.raises(ServiceRefused) as refused:
        await QuoteTool(services.market_data()).run(
            QuoteTool.arguments.model_validate({"symbol": "nosuch1"}), context()
        )
    assert refused.value.status == 404
    assert str(refused.value) == problem["detail"]
    assert "NOSUCH1" in problem["detail"]

    toolbox = build_toolbox(services.market_data(), services.rag())
    (result,) = await toolbox.run_all([call("quote", {"symbol": "NOSUCH1"})], context())
    assert (result.ok, result.output, result.error) == (False, None, problem["detail"])
    assert json.loads(result.message_for_model()["content"]) == {"error": problem["detail"]}


async def test_the_watchlist_is_the_callers_own(services: Services) -> None:
    alice, bob = user(), user()
    async with services.direct(services.market_data_url, Identity(alice)) as client:
        saved = await client.put(f"/watchlists/{alice}", json={"symbols": ["IBM", "MSFT"]})
    assert saved.status_code == 200, saved.text
    toolbox = build_toolbox(services.market_data(), services.rag())

    mine = await run_one(toolbox, "watchlist", {}, user_id=alice)
    assert (mine.data["owner"], mine.data["symbols"]) == (alice, ["IBM", "MSFT"])
    assert mine.summary == "watchlist: IBM, MSFT (2 symbols)"
    theirs = await run_one(toolbox, "watchlist", {}, user_id=bob)
    assert (theirs.data["owner"], theirs.data["symbols"]) == (bob, [])
    assert theirs.summary == "watchlist is empty"


# --- rag, for real ---------------------------------------------------------------------


async def test_search_finds_the_callers_documents_only_with_citations(services: Services) -> None:
    alice, bob = user(), user()
    marker = f"quokka{uuid.uuid4().hex[:10]}"
    mine = await services.upload(
        alice,
        "alice-margins.md",
        f"# Margins\n\n## Gross margin\n\nThe {marker} gross margin of the retailer was "
        "41.5 percent in the last quarter, up from 39.0 percent.\n",
    )
    await services.upload(bob, "bob-notes.md", f"# Notes\n\nBob's {marker} notes on bonds.\n")
    toolbox = build_toolbox(services.market_data(), services.rag())

    found = await run_one(
        toolbox, "search_documents", {"query": f"{marker} gross margin", "limit": 3}, user_id=alice
    )
    shown = json.loads(found.for_model)
    assert shown["query"] == f"{marker} gross margin"
    top = shown["results"][0]
    assert (top["n"], top["document_id"], top["filename"]) == (1, mine, "alice-margins.md")
    assert "41.5 percent" in top["text"]
    assert [item["n"] for item in shown["results"]] == list(range(1, len(shown["results"]) + 1))
    assert "bob-notes.md" not in found.for_model
    assert found.citations[0].document_id == mine
    assert found.citations[0].chunk_id == top["chunk_id"]
    assert top["chunk_id"].startswith(f"{mine}:")
    assert found.citations[0].text == top["text"]
    assert len(found.citations) == len(shown["results"])
    assert found.data["results"][0]["owner"] == alice

    as_bob = await run_one(
        toolbox, "search_documents", {"query": f"{marker} gross margin"}, user_id=bob
    )
    assert mine not in [item["document_id"] for item in as_bob.data["results"]]
    assert "41.5" not in as_bob.for_model


async def test_search_results_shrink_to_the_budget_and_cite_what_is_shown(
    services: Services,
) -> None:
    owner = user()
    words = " ".join(f"fact{n} the walrus index rose {n}.5 points." for n in range(60))
    await services.upload(owner, "walrus.md", "# Walrus\n\n" + "\n\n".join([words] * 4))
    tool = SearchDocumentsTool(services.rag(), budget=400)
    args = SearchDocumentsTool.arguments.model_validate({"query": "walrus index", "limit": 10})
    output = await tool.run(args, context(owner))
    shown = json.loads(output.for_model)
    assert count_tokens(output.for_model) <= 400
    assert 0 < len(shown["results"]) < len(output.data["results"])
    assert [c.chunk_id for c in output.citations] == [r["chunk_id"] for r in shown["results"]]


async def test_searches_of_one_round_number_their_passages_apart(services: Services) -> None:
    owner = user()
    marker = f"narwhal{uuid.uuid4().hex[:8]}"
    await services.upload(
        owner, "tusks.md", f"# Tusks\n\nThe {marker} tusk grows.\n\n## More\n\n{marker} teeth.\n"
    )
    toolbox = build_toolbox(services.market_data(), services.rag())
    calls = [
        call("search_documents", {"query": f"{marker} tusk", "limit": 2}, "call-a"),
        call("search_documents", {"query": f"{marker} teeth", "limit": 2}, "call-b"),
    ]
    first, second = await toolbox.run_all(calls, replace(context(owner), citation_start=4))
    assert first.output is not None
    assert second.output is not None
    numbers_a = [c.index for c in first.output.citations]
    numbers_b = [c.index for c in second.output.citations]
    assert numbers_a[0] == 4
    assert numbers_b[0] == 6  # after the 2 numbers the first call may take
    shown_b = json.loads(second.output.for_model)["results"]
    assert [item["n"] for item in shown_b] == numbers_b


# --- the client: signing, retries, refusals ----------------------------------------------


async def test_a_503_is_tried_again_and_each_attempt_is_signed_as_the_user(
    internal_key: str,
) -> None:
    async with scripted_service(internal_key, "market-data") as (scripted, caller):
        unavailable = Answer(503, {"detail": "warming up"})
        scripted.script("/quotes/AAPL", unavailable, unavailable, Answer(200, {"price": 1.5}))
        body = await caller.get_json("/quotes/AAPL", Identity("u-1"), traceparent=TRACEPARENT)
    assert body == {"price": 1.5}
    attempts = scripted.to("/quotes/AAPL")
    assert len(attempts) == 3
    assert {(a.identity, a.traceparent) for a in attempts} == {(Identity("u-1"), TRACEPARENT)}


async def test_retries_end_in_unavailable(internal_key: str) -> None:
    async with scripted_service(internal_key, "market-data") as (scripted, caller):
        scripted.script("/risk", Answer(500, {"detail": "boom"}))
        with pytest.raises(ServiceUnavailable) as failed:
            await caller.get_json("/risk", Identity("u-1"), params={"symbols": "AAPL"})
    assert len(scripted.to("/risk")) == 3
    assert str(failed.value) == "market-data is unavailable: HTTP 500: boom"

    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens: refused, every time
    async with httpx.AsyncClient(base_url=nowhere) as client:
        caller = ServiceCaller("rag", client, internal_key, retry=QUICK_RETRY)
        with pytest.raises(ServiceUnavailable, match=r"^rag is unavailable: ConnectError"):
            await caller.post_json("/search", Identity("u-1"), {"query": "x"})


async def test_a_4xx_is_not_tried_again_and_a_post_is_signed_with_its_body(
    internal_key: str,
) -> None:
    async with scripted_service(internal_key, "rag") as (scripted, caller):
        scripted.script("/search", Answer(422, {"detail": "query too long", "status": 422}))
        with pytest.raises(ServiceRefused, match=r"^query too long$") as refused:
            await caller.post_json("/search", Identity("u-2"), {"query": "x" * 10})
    (sent,) = scripted.to("/search")
    assert refused.value.status == 422
    assert (sent.method, sent.identity) == ("POST", Identity("u-2"))
    assert json.loads(sent.body) == {"query": "x" * 10}


async def test_path_values_are_one_segment() -> None:
    assert segment("BRK.B") == "BRK.B"
    assert segment("^GSPC") == "%5EGSPC"
    assert segment("a/b?c#d") == "a%2Fb%3Fc%23d"
    assert (segment("."), segment("..")) == ("%2E", "%2E%2E")


# --- the toolbox -------------------------------------------------------------------------


async def test_a_round_runs_concurrently_and_a_slow_tool_times_out_alone(
    internal_key: str,
) -> None:
    async with scripted_service(internal_key, "market-data") as (scripted, caller):
        for symbol in ("A", "B", "C", "D"):
            quote = {"symbol": symbol, "price": 2.5, "currency": "USD", "as_of": "2013-01-02"}
            scripted.script(f"/quotes/{symbol}", Answer(200, quote | {"source": "x"}, 0.3))
        scripted.script("/quotes/SLOW", Answer(200, {}, 1.5))
        metrics = MetricsRecorder("chat")
        toolbox = Toolbox([QuoteTool(caller)], timeout=0.8, metrics=metrics)
        calls = [call("quote", {"symbol": s}, f"c-{s}") for s in ("A", "B", "C", "D")]
        started = time.perf_counter()
        results = await toolbox.run_all(calls, context())
        elapsed = time.perf_counter() - started

        slow_round = await toolbox.run_all([call("quote", {"symbol": "SLOW"}), calls[0]], context())
    assert [r.call.id for r in results] == ["c-A", "c-B", "c-C", "c-D"]
    assert all(r.ok for r in results)
    # Four calls of 0.3 s each: together they take about as long as one of them.
    assert elapsed < 0.5 * sum(r.duration_ms for r in results) / 1000
    assert metrics.percentiles(
        "ToolExecutionTime", unit="Milliseconds", dimensions={"Tool": "quote"}
    )
    slow, quick = slow_round
    assert (slow.ok, slow.error, slow.output) == (False, "timed out after 0.8 s", None)
    assert quick.ok
    assert quick.output is not None
    assert quick.output.summary == "A 2.50 USD as of 2013-01-02, x"


class Sleeper(BaseModel):
    seconds: float


class SleepTool(Tool[Sleeper]):
    name = "sleep"
    description = "Sleeps."
    arguments = Sleeper
    cancelled: ClassVar[list[float]] = []

    async def run(self, args: Sleeper, context: ToolContext) -> ToolOutput:
        try:
            await asyncio.sleep(args.seconds)
        except asyncio.CancelledError:
            self.cancelled.append(args.seconds)
            raise
        return ToolOutput({"slept": args.seconds}, "{}", "slept")


class BrokenTool(Tool[Sleeper]):
    name = "broken"
    description = "Fails."
    arguments = Sleeper

    async def run(self, args: Sleeper, context: ToolContext) -> ToolOutput:
        raise KeyError("bars")


class RefusingTool(BrokenTool):
    name = "refusing"

    async def run(self, args: Sleeper, context: ToolContext) -> ToolOutput:
        raise ToolFailed("not today")


async def test_every_failure_is_an_error_result_never_a_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    toolbox = Toolbox([SleepTool(), BrokenTool(), RefusingTool()])
    calls = [
        call("nope", {}, "c-unknown"),
        call("sleep", "{not json", "c-json"),
        call("sleep", "[1]", "c-array"),
        call("sleep", {"seconds": "soon"}, "c-invalid"),
        call("broken", {"seconds": 0}, "c-broken"),
        call("refusing", {"seconds": 0}, "c-refusing"),
        call("sleep", {"seconds": 0}, "c-fine"),
    ]
    with caplog.at_level(logging.ERROR):
        results = {r.call.id: r for r in await toolbox.run_all(calls, context())}
    errors = {key: result.error for key, result in results.items()}
    assert errors["c-unknown"] == "unknown tool 'nope'; the tools are: sleep, broken, refusing"
    assert errors["c-json"] is not None
    assert errors["c-json"].startswith("arguments are not JSON")
    assert errors["c-array"] == "arguments must be a JSON object"
    assert errors["c-invalid"] == (
        "invalid arguments: seconds: Input should be a valid number, unable to parse string "
        "as a number"
    )
    assert results["c-invalid"].arguments == {"seconds": "soon"}
    assert errors["c-broken"] == "internal error in tool broken"
    assert "KeyError: 'bars'" in caplog.text
    assert errors["c-refusing"] == "not today"
    assert errors["c-fine"] is None
    assert results["c-fine"].arguments == {"seconds": 0.0}
    for result in results.values():
        message = result.message_for_model()
        assert (message["role"], message["tool_call_id"]) == ("tool", result.call.id)
        if not result.ok:
            assert result.output is None
            assert json.loads(message["content"]) == {"error": result.error}


async def test_invalid_market_arguments_name_the_field(services: Services) -> None:
    toolbox = build_toolbox(services.market_data(), services.rag())
    results = await toolbox.run_all(
        [
            call("quote", {}, "no-symbol"),
            call("quote", {"symbol": "AA PL"}, "bad-symbol"),
            call("history", {"symbol": "AAPL", "period": "3y"}, "bad-period"),
            call("compare", {"symbols": ["AAPL"]}, "one-symbol"),
            call("risk", {"symbols": ["AAPL", "aapl"]}, "repeated"),
            call("search_documents", {"query": "x", "limit": 11}, "too-many"),
            call("portfolio_risk", {"symbols": ["AAPL", "IBM"], "weights": [0.5]}, "weights"),
            call(
                "portfolio_risk",
                {"symbols": ["AAPL", "IBM"], "weights": [0.5, 0.6]},
                "sum",
            ),
        ],
        context(),
    )
    errors = [r.error or "" for r in results]
    assert errors[0] == "invalid arguments: symbol: Field required"
    assert errors[1].startswith("invalid arguments: symbol: String should match pattern")
    assert errors[2].startswith("invalid arguments: period: Input should be '1mo'")
    assert errors[3].startswith("invalid arguments: symbols: List should have at least 2 items")
    assert errors[4] == "invalid arguments: symbols: Value error, symbols repeat: AAPL"
    assert errors[5].startswith("invalid arguments: limit: Input should be less than or equal")
    assert errors[6] == (
        "invalid arguments: (arguments): Value error, 1 weights for 2 symbols: give one each"
    )
    assert errors[7] == "invalid arguments: (arguments): Value error, the weights sum to 1.1, not 1"


async def test_cancelling_the_round_cancels_its_tools() -> None:
    SleepTool.cancelled.clear()
    toolbox = Toolbox([SleepTool()])
    calls = [call("sleep", {"seconds": 30}, "a"), call("sleep", {"seconds": 31}, "b")]
    round_task = asyncio.create_task(toolbox.run_all(calls, context()))
    await asyncio.sleep(0.1)
    round_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await round_task
    assert sorted(SleepTool.cancelled) == [30, 31]


# --- the schemas the model sees ----------------------------------------------------------


async def test_every_tool_has_a_valid_json_schema_of_an_object(internal_key: str) -> None:
    async with httpx.AsyncClient(base_url="http://127.0.0.1:1") as client:
        unused = ServiceCaller("market-data", client, internal_key)
        toolbox = build_toolbox(unused, unused)
    specs = toolbox.specs()
    assert [spec.name for spec in specs] == list(toolbox.names)
    assert set(toolbox.names) == {
        "quote",
        "history",
        "indicators",
        "risk",
        "profile",
        "compare",
        "watchlist",
        "portfolio_risk",
        "search_documents",
    }
    for spec in specs:
        Draft202012Validator.check_schema(spec.parameters)  # raises when it is not one
        assert spec.parameters["type"] == "object"
        assert spec.description
        for name, field in spec.parameters.get("properties", {}).items():
            assert field.get("description"), f"{spec.name}.{name} has no description"
        assert spec.as_openai()["function"]["parameters"] is spec.parameters
    history = next(spec for spec in specs if spec.name == "history").parameters
    assert Draft202012Validator(history).is_valid({"symbol": "AAPL", "period": "5y"})
    assert not Draft202012Validator(history).is_valid({"symbol": "AAPL", "interval": "1h"})


async def test_the_literals_follow_market_data() -> None:
    assert typing.get_args(arguments.Period) == typing.get_args(market_schemas.Period)
    assert typing.get_args(arguments.Interval) == typing.get_args(market_schemas.Interval)
    assert typing.get_args(arguments.IndicatorName) == market_schemas.INDICATOR_NAMES


def worst_risk(symbols: list[str]) -> dict[str, Any]:
    """The largest risk answer for ``symbols``, every number at full precision."""
    metric = {
        "annualised_return": 0.12345678901234567,
        "annualised_volatility": 0.2345678901234567,
        "beta": 1.0345678901234567,
        "sharpe": 0.5345678901234567,
        "sortino": 0.7345678901234567,
        "max_drawdown": -0.3345678901234567,
        "var_95": 0.023456789012345678,
    }
    return {
        "symbols": symbols,
        "benchmark": "^GSPC",
        "start": "2012-03-01",
        "end": "2013-03-01",
        "observations": 251,
        "risk_free_rate": 0.0,
        "metrics": [{"symbol": s} | metric for s in symbols],
        "correlation": {a: {b: 0.6123456789012345 for b in symbols} for a in symbols},
        "stale": False,
    }


def worst_quote(symbol: str) -> dict[str, Any]:
    prices = dict.fromkeys(("price", "previous_close", "open", "day_high", "day_low"), 1234.5678901)
    return prices | {
        "symbol": symbol,
        "volume": 123456789012,
        "currency": "USD",
        "as_of": "2013-03-01T16:00:00-05:00",
        "source": "yfinance",
        "stale": False,
        "change": -12.345678901234567,
        "change_percent": -0.9876543210987654,
    }


@pytest.mark.parametrize("name", ["risk", "compare"])
async def test_the_largest_results_the_arguments_allow_fit_their_budgets(
    internal_key: str, name: str
) -> None:
    symbols = [f"SYMB{n:02d}" for n in range(20 if name == "risk" else 10)]
    async with scripted_service(internal_key, "market-data") as (scripted, caller):
        scripted.script("/risk", Answer(200, worst_risk(symbols)))
        batch = {"quotes": [worst_quote(s) for s in symbols], "errors": []}
        scripted.script("/quotes", Answer(200, batch))
        (tool,) = [t for t in market_tools(caller) if t.name == name]
        output = await tool.run(tool.arguments.model_validate({"symbols": symbols}), context())
    assert json.loads(output.for_model) == output.data
    assert count_tokens(output.for_model) <= tool.budget
