"""The offline engine against real market-data results: the real app on the emulator
with the replay provider answers each call the engine plans, in the shapes the tools
give the model, and every number of every final answer must be grounded in them.

Document passages come from a search response built with rag's own response models over
the text of rag's starter guides, numbered as the search tool numbers them."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from marketscope_chat.grounding import GroundingSource, ground
from marketscope_chat.llm.base import (
    Message,
    ModelEvent,
    ModelReply,
    ModelRequest,
    TextDelta,
    ToolCall,
    ToolSpec,
)
from marketscope_chat.llm.offline import (
    NO_FUNDAMENTALS,
    OFFLINE_NOTE,
    REPLAY_SYMBOLS,
    OfflineEngine,
    split_sentences,
)
from marketscope_chat.llm.tokens import count_tokens, messages_tokens
from marketscope_market_data.main import create_app
from marketscope_market_data.settings import Settings
from marketscope_platform.aws import AwsSettings
from marketscope_rag.schemas import Citation, SearchHit, SearchResponse
from marketscope_servicekit import Identity
from marketscope_servicekit.testing import GatewaySigner, identity_headers

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

QUESTIONS = json.loads((Path(__file__).parent / "offline_questions.json").read_text())
TOOL_NAMES = (
    "quote",
    "history",
    "indicators",
    "risk",
    "profile",
    "compare",
    "search_documents",
    "watchlist",
)
TOOLS = tuple(ToolSpec(name, f"the {name} tool", {"type": "object"}) for name in TOOL_NAMES)
# The watchlist the questions assume the user saved.
WATCHLIST = next(case["watchlist"] for case in QUESTIONS if "watchlist" in case)
MEASURES = ("quote", "history", "indicators", "risk", "compare")  # results that are numbers
USER = f"offline-{uuid.uuid4().hex[:8]}"


class MarketData:
    """Runs a planned call against the real market-data app and answers it in the shape
    the chat's tools give the model (an error as ``{"error": detail}``)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def get(self, path: str, **params: Any) -> tuple[Any, str | None]:
        response = await self.client.get(path, params=params, headers=identity_headers(USER))
        if response.status_code != 200:
            return None, str(response.json().get("detail"))
        return response.json(), None

    async def run(self, call: ToolCall) -> Any:
        args = json.loads(call.arguments)
        data, error = await self._run(call.name, args)
        return {"error": error} if error is not None else data

    async def _run(self, name: str, args: dict[str, Any]) -> tuple[Any, str | None]:
        if name == "quote":
            return await self.get(f"/quotes/{args['symbol']}")
        if name == "profile":
            return await self.get(f"/profile/{args['symbol']}")
        if name == "indicators":
            names = args.get("names")
            params = {"names": ",".join(names)} if names else {}
            return await self.get(f"/indicators/{args['symbol']}", **params)
        if name == "risk":
            return await self.get(
                "/risk",
                symbols=",".join(args["symbols"]),
                benchmark=args["benchmark"],
                period=args["period"],
            )
        if name == "history":
            history, error = await self.get(
                f"/history/{args['symbol']}", interval=args["interval"], period=args["period"]
            )
            return (history_shown(history), None) if error is None else (None, error)
        if name == "compare":
            symbols = ",".join(args["symbols"])
            quotes, error = await self.get("/quotes", symbols=symbols)
            if error is None:
                risk, error = await self.get("/risk", symbols=symbols, period=args["period"])
            if error is not None:
                return None, error
            return {"symbols": args["symbols"], "quotes": quotes, "risk": risk}, None
        if name == "watchlist":
            return await self.get(f"/watchlists/{USER}")
        if name == "search_documents":
            return documents_found(args["query"], args.get("limit", 5)), None
        raise AssertionError(f"the engine called an unknown tool {name}")


def history_shown(history: dict[str, Any]) -> dict[str, Any]:
    bars = history["bars"]
    first, last = bars[0]["close"], bars[-1]["close"]
    return {
        "symbol": history["symbol"],
        "interval": history["interval"],
        "source": history["source"],
        "stale": history["stale"],
        "bars_total": len(bars),
        "summary": {
            "start": bars[0]["date"],
            "end": bars[-1]["date"],
            "first_close": first,
            "last_close": last,
            "change_percent": (last - first) / first * 100,
            "high": max(bar["high"] for bar in bars),
            "low": min(bar["low"] for bar in bars),
            "average_volume": sum(bar["volume"] for bar in bars) / len(bars),
        },
        "last_bars": bars[-5:],
    }


def guide_chunks() -> list[tuple[str, int, str]]:
    """rag's starter guides cut at their headings: (filename, index, text)."""
    chunks = []
    for guide in sorted(resources.files("marketscope_rag.starter").iterdir(), key=str):
        if not guide.name.endswith(".md"):
            continue
        parts = re.split(r"\n(?=#{2,3} )", guide.read_text(encoding="utf-8"))
        chunks += [(guide.name, i, part.strip()) for i, part in enumerate(parts) if part.strip()]
    return chunks


def documents_found(query: str, limit: int) -> dict[str, Any]:
    terms = {word for word in re.findall(r"[a-z]{3,}", query.lower())}
    ranked = sorted(
        ((sum(text.lower().count(term) for term in terms), name, i, text))
        for name, i, text in guide_chunks()
    )
    hits = [
        SearchHit(
            citation=Citation(
                document_id=f"doc-{name}",
                filename=name,
                version_id="v1",
                chunk_index=i,
                start=0,
                end=len(text),
            ),
            score=float(score),
            snippet=text[:120],
            text=text,
            section=text.splitlines()[0].lstrip("# "),
            owner="shared",
        )
        for score, name, i, text in reversed(ranked[-limit:])
        if score > 0
    ]
    response = SearchResponse(query=query, mode="hybrid", hits=hits).model_dump(mode="json")
    return {
        "query": response["query"],
        "results": [
            {
                "n": n,
                "document_id": hit["citation"]["document_id"],
                "filename": hit["citation"]["filename"],
                "chunk_id": f"{hit['citation']['document_id']}:v1:{hit['citation']['chunk_index']}",
                "section": hit["section"],
                "text": hit["text"],
                "score": hit["score"],
            }
            for n, hit in enumerate(response["hits"], start=1)
        ],
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def market(aws_settings: AwsSettings, provisioned: str) -> AsyncIterator[MarketData]:
    settings = Settings(embedded_scheduler=False, live_refresh=False)
    app = create_app(settings, aws_settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://market-data",
            auth=GatewaySigner(app.state.internal_key, Identity(USER)),
        ) as client,
    ):
        saved = await client.put(
            f"/watchlists/{USER}",
            json={"symbols": WATCHLIST},
            headers=identity_headers(USER),
        )
        assert saved.status_code == 200, saved.text
        yield MarketData(client)


async def collect(engine: OfflineEngine, request: ModelRequest) -> list[ModelEvent]:
    return [event async for event in engine.stream(request)]


async def converse(
    market: MarketData, question: str, tools: Sequence[ToolSpec] = TOOLS
) -> tuple[list[ModelReply], list[Message], list[GroundingSource]]:
    """The tool loop: the engine's calls answered by market-data until it answers."""
    engine = OfflineEngine()
    messages: list[Message] = [{"role": "user", "content": question}]
    replies: list[ModelReply] = []
    sources: list[GroundingSource] = []
    for _ in range(5):
        events = await collect(engine, ModelRequest(messages, tools))
        reply = events[-1]
        assert isinstance(reply, ModelReply)
        replies.append(reply)
        if not reply.tool_calls:
            return replies, messages, sources
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call in reply.tool_calls
                ],
            }
        )
        for call in reply.tool_calls:
            result = await market.run(call)
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
            )
            sources.append(GroundingSource(call.id, call.name, result))
    raise AssertionError(f"no answer after 5 rounds to {question!r}")


def called_symbols(messages: Sequence[Message]) -> set[str]:
    symbols: set[str] = set()
    for message in messages:
        for call in message.get("tool_calls") or ():
            args = json.loads(call["function"]["arguments"])
            symbols |= {args["symbol"]} if "symbol" in args else set(args.get("symbols", ()))
    return symbols


@pytest.mark.parametrize("case", QUESTIONS, ids=[case["question"] for case in QUESTIONS])
async def test_each_question_is_answered_from_real_results_with_every_number_grounded(
    market: MarketData, case: dict[str, Any]
) -> None:
    replies, messages, sources = await converse(market, case["question"])
    answer = replies[-1].text

    names = [call.name for reply in replies for call in reply.tool_calls]
    assert list(dict.fromkeys(names)) == case["tools"]
    assert called_symbols(messages) == set(case["symbols"])
    assert answer.startswith(OFFLINE_NOTE)
    report = ground(answer, sources, question=case["question"])
    assert report.ungrounded == 0, (report.ungrounded_texts, answer)
    measured = [s for s in sources if s.tool in MEASURES and "error" not in s.data]
    assert report.grounded >= len(measured), answer
    for source in sources:
        if "error" in source.data:
            assert re.search(rf"I could not get [^\n]*: {re.escape(source.data['error'])}", answer)


async def test_questions_cover_every_kind_and_every_replay_symbol() -> None:
    kinds = {tool for case in QUESTIONS for tool in case["tools"]}
    assert len(QUESTIONS) == 38
    assert kinds == set(TOOL_NAMES)
    assert {symbol for case in QUESTIONS for symbol in case["symbols"]} == set(REPLAY_SYMBOLS)


async def test_fundamentals_asked_for_are_said_to_be_missing(market: MarketData) -> None:
    replies, _, sources = await converse(market, "What's the dividend yield of IBM?")
    assert [source.tool for source in sources] == ["quote"]
    answer = replies[-1].text
    assert "**IBM** last traded at" in answer
    assert answer.endswith(NO_FUNDAMENTALS)
    # A question about the term itself goes to the guides and needs no such note.
    _, _, explained = await converse(market, "What does a dividend yield tell me?")
    assert [source.tool for source in explained] == ["search_documents"]


async def test_a_quote_answer_states_the_results_values(market: MarketData) -> None:
    replies, _, sources = await converse(market, "What is AAPL trading at?")
    (source,) = sources
    quote = source.data
    answer = replies[-1].text
    assert f"{quote['price']:.2f} USD on {quote['as_of'][:10]}" in answer
    assert f"previous close of {quote['previous_close']:.2f}" in answer
    direction = "up" if quote["change"] > 0 else "down"
    assert f"{direction} {abs(quote['change']):.2f} ({abs(quote['change_percent']):.2f}%)" in answer


async def test_risk_fractions_are_written_as_percent(market: MarketData) -> None:
    replies, _, sources = await converse(market, "How risky is AAPL?")
    (metric,) = sources[0].data["metrics"]
    answer = replies[-1].text
    assert f"annualised volatility {metric['annualised_volatility'] * 100:.2f}%" in answer
    assert f"max drawdown {metric['max_drawdown'] * 100:.2f}%" in answer
    assert f"beta {metric['beta']:.2f}" in answer


async def test_the_watchlist_comes_first_then_risk_of_its_symbols(market: MarketData) -> None:
    replies, _, _ = await converse(market, "How risky is my watchlist?")
    first, second, final = replies
    assert [(c.id, c.name, json.loads(c.arguments)) for c in first.tool_calls] == [
        ("offline-1-1", "watchlist", {})
    ]
    assert [(c.id, c.name, json.loads(c.arguments)) for c in second.tool_calls] == [
        (
            "offline-2-1",
            "risk",
            {"symbols": WATCHLIST, "benchmark": "^GSPC", "period": "1y"},
        )
    ]
    assert (first.finish_reason, second.finish_reason, final.finish_reason) == (
        "tool_calls",
        "tool_calls",
        "stop",
    )
    assert "Your watchlist" in final.text
    assert "**IBM**" in final.text


async def test_document_answers_cite_the_passages_by_their_number(market: MarketData) -> None:
    replies, _, sources = await converse(market, "What do my documents say about drawdown?")
    results = sources[0].data["results"]
    assert results
    for item in results:
        assert f"[{item['n']}] {item['filename']}" in replies[-1].text


async def test_asked_to_correct_it_leaves_out_the_numbers_named(market: MarketData) -> None:
    question = "How did AAPL perform over the last year?"
    replies, messages, sources = await converse(market, question)
    first = replies[-1].text
    # Grounded against the history market-data answered (every bar, no summary), the
    # summary's computed change, average volume and bar count have no source.
    summary = sources[0].data["summary"]
    history, _ = await market.get("/history/AAPL", interval="1d", period="1y")
    report = ground(first, [GroundingSource("h", "history", history)], question=question)
    assert report.ungrounded_texts == [
        f"{summary['change_percent']:.2f}%",
        f"{summary['average_volume']:,.0f}",
        str(sources[0].data["bars_total"]),
    ]
    messages += [
        {"role": "assistant", "content": first},
        {
            "role": "user",
            "content": "These numbers in your answer do not appear in any tool result: "
            f"{', '.join(report.ungrounded_texts)}. Rewrite the whole answer.",
        },
    ]
    _, reply = await answer(messages, tool_choice="none")
    assert reply.tool_calls == ()
    assert reply.text.startswith(OFFLINE_NOTE)
    for text in report.ungrounded_texts:
        assert text not in reply.text
    assert f"the close went from {summary['first_close']:.2f} to" in reply.text
    assert f"high {summary['high']:.2f}" in reply.text
    corrected = ground(reply.text, [GroundingSource("h", "history", history)], question=question)
    assert (corrected.ungrounded, corrected.grounded) == (0, 4)


async def test_a_new_question_after_an_answer_is_planned_afresh() -> None:
    messages: list[Message] = [
        {"role": "user", "content": "What is AAPL trading at?"},
        {"role": "assistant", "content": "AAPL was 544.47."},
        {"role": "user", "content": "And IBM?"},
    ]
    events = await collect(OfflineEngine(), ModelRequest(messages, TOOLS))
    reply = events[-1]
    assert isinstance(reply, ModelReply)
    assert calls_of(reply) == [("quote", {"symbol": "IBM"})]


# --- planning, without market-data ------------------------------------------------------


async def plan(question: str, tools: Sequence[ToolSpec] = TOOLS) -> ModelReply:
    request = ModelRequest([{"role": "user", "content": question}], tools)
    *deltas, reply = await collect(OfflineEngine(), request)
    assert isinstance(reply, ModelReply)
    assert "".join(d.text for d in deltas if isinstance(d, TextDelta)) == reply.text
    return reply


def calls_of(reply: ModelReply) -> list[tuple[str, dict[str, Any]]]:
    return [(call.name, json.loads(call.arguments)) for call in reply.tool_calls]


@pytest.mark.parametrize(
    ("question", "calls"),
    [
        ("What is AAPL trading at?", [("quote", {"symbol": "AAPL"})]),
        (
            "Prices of $msft and Apple",
            [("quote", {"symbol": "MSFT"}), ("quote", {"symbol": "AAPL"})],
        ),
        (
            "Compare apple and microsoft over the last 6 months",
            [("compare", {"symbols": ["AAPL", "MSFT"], "period": "6mo"})],
        ),
        (
            "Compare IBM with the market",
            [("compare", {"symbols": ["IBM", "^GSPC"], "period": "1y"})],
        ),
        (
            "Beta and drawdown of Facebook over 2 years",
            [("risk", {"symbols": ["FB"], "benchmark": "^GSPC", "period": "2y"})],
        ),
        (
            "RSI and MACD of GOOG",
            [("indicators", {"symbol": "GOOG", "names": ["rsi", "macd"]})],
        ),
        ("Technical analysis of alphabet", [("indicators", {"symbol": "GOOG", "names": None})]),
        ("What does Meta do?", [("profile", {"symbol": "FB"})]),
        (
            "How did IBM perform over the last 10 years?",
            [("history", {"symbol": "IBM", "interval": "1mo", "period": "10y"})],
        ),
        (
            "What do my documents say about beta?",
            [("search_documents", {"query": "beta", "limit": 5})],
        ),
        ("Show my portfolio", [("watchlist", {})]),
        (
            "Quote and profile of IBM, and what my notes say about IBM",
            [
                ("quote", {"symbol": "IBM"}),
                ("profile", {"symbol": "IBM"}),
                ("search_documents", {"query": "IBM", "limit": 5}),
            ],
        ),
    ],
)
async def test_plans_the_calls_a_question_needs(
    question: str, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    reply = await plan(question)
    assert calls_of(reply) == calls
    assert [call.id for call in reply.tool_calls] == [
        f"offline-1-{n}" for n in range(1, len(calls) + 1)
    ]
    assert reply.finish_reason == "tool_calls"
    assert reply.text == ""


async def test_plans_only_tools_that_are_offered() -> None:
    only_quotes = [spec for spec in TOOLS if spec.name == "quote"]
    reply = await plan("Quote and risk of AAPL", only_quotes)
    assert calls_of(reply) == [("quote", {"symbol": "AAPL"})]


async def test_without_the_tool_it_needs_it_says_so() -> None:
    reply = await plan("How risky is AAPL?", [spec for spec in TOOLS if spec.name != "risk"])
    assert reply.tool_calls == ()
    assert "These tools are not available here: risk." in reply.text


async def test_a_question_it_cannot_place_gets_the_help_text() -> None:
    reply_events = await collect(
        OfflineEngine(), ModelRequest([{"role": "user", "content": "hello there"}], TOOLS)
    )
    reply = reply_events[-1]
    assert isinstance(reply, ModelReply)
    assert reply.tool_calls == ()
    assert reply.text.startswith(OFFLINE_NOTE)
    assert "offline engine" in reply.text
    for symbol in REPLAY_SYMBOLS:
        assert symbol in reply.text
    assert ground(reply.text, []).ungrounded == 0


async def test_an_intent_without_a_symbol_asks_for_one() -> None:
    reply = await plan("What is the price right now?")
    assert reply.tool_calls == ()
    assert "Name a symbol" in reply.text


@pytest.mark.parametrize(
    ("question", "link"),
    [
        (
            "Alert me when AAPL goes above $500",
            "[AAPL crosses up through 500](/#/alerts?symbol=AAPL&kind=crossing_up&level=500)",
        ),
        (
            "set an alert when GOOG drops below 612.5",
            "[GOOG crosses down through 612.5]"
            "(/#/alerts?symbol=GOOG&kind=crossing_down&level=612.5)",
        ),
        (
            "notify me while ^GSPC is under 1300",
            "[^GSPC is below 1300](/#/alerts?symbol=%5EGSPC&kind=less_than&level=1300)",
        ),
    ],
)
async def test_alerts_without_an_alert_tool_are_offered_filled_in_on_the_alerts_page(
    question: str, link: str
) -> None:
    reply = await plan(question)
    assert reply.tool_calls == ()
    assert "I cannot set alerts from the chat" in reply.text
    assert link in reply.text
    assert ground(reply.text, [], question=question).ungrounded == 0


async def test_an_alert_without_a_price_points_to_the_alerts_page() -> None:
    reply = await plan("Can you alert me about MSFT?")
    assert reply.tool_calls == ()
    assert "Alerts can be set on the [alerts page](/#/alerts)." in reply.text


async def test_alerts_are_set_with_an_offered_alert_tool_from_its_schema() -> None:
    create_alert = ToolSpec(
        "create_alert",
        "Create a price alert",
        {
            "type": "object",
            "properties": {
                "symbol": {"type": "string"},
                "direction": {"enum": ["above", "below"], "type": "string"},
                "threshold": {"type": "number"},
            },
            "required": ["symbol", "direction", "threshold"],
        },
    )
    reply = await plan("Notify me when MSFT falls below $25.50", [*TOOLS, create_alert])
    assert calls_of(reply) == [
        ("create_alert", {"symbol": "MSFT", "direction": "below", "threshold": 25.5})
    ]


# --- writing, from hand-made results -------------------------------------------------------


def turn_with(question: str, calls: Sequence[tuple[str, dict[str, Any], Any]]) -> list[Message]:
    messages: list[Message] = [
        {"role": "user", "content": question},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"offline-1-{n}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
                for n, (name, args, _) in enumerate(calls, start=1)
            ],
        },
    ]
    messages += [
        {"role": "tool", "tool_call_id": f"offline-1-{n}", "content": json.dumps(result)}
        for n, (_, _, result) in enumerate(calls, start=1)
    ]
    return messages


async def answer(messages: Sequence[Message], **request: Any) -> tuple[list[str], ModelReply]:
    events = await collect(OfflineEngine(), ModelRequest(messages, TOOLS, **request))
    *deltas, reply = events
    assert isinstance(reply, ModelReply)
    assert all(isinstance(delta, TextDelta) for delta in deltas)
    return [delta.text for delta in deltas if isinstance(delta, TextDelta)], reply


async def test_a_tool_error_is_reported_not_replaced() -> None:
    messages = turn_with(
        "What is TSLA trading at?",
        [("quote", {"symbol": "TSLA"}, {"error": "market-data: Unknown symbol TSLA"})],
    )
    _, reply = await answer(messages)
    assert "I could not get a quote for TSLA: market-data: Unknown symbol TSLA" in reply.text
    assert "traded at" not in reply.text


@pytest.mark.parametrize(
    ("rsi", "state", "reading"),
    [
        (82.0, "overbought", "`rsi_14` 82.00, at or above 70: overbought by the usual reading"),
        (24.5, "oversold", "`rsi_14` 24.50, at or below 30: oversold by the usual reading"),
        (55.25, "neutral", "`rsi_14` 55.25, between 30 and 70: neither overbought nor oversold"),
    ],
)
async def test_the_rsi_is_read_by_the_lines_the_tool_gives(
    rsi: float, state: str, reading: str
) -> None:
    indicators = {
        "symbol": "AAPL",
        "as_of": "2012-03-13",
        "close": 568.1,
        "bars_used": 505,
        "source": "replay",
        "names": ["rsi"],
        "indicators": {"rsi_14": rsi},
        "readings": {"rsi_14": {"state": state, "overbought_at": 70.0, "oversold_at": 30.0}},
    }
    messages = turn_with(
        "Is AAPL overbought?", [("indicators", {"symbol": "AAPL", "names": ["rsi"]}, indicators)]
    )
    _, reply = await answer(messages)
    assert reading in reply.text
    sources = [GroundingSource("offline-1-1", "indicators", indicators)]
    assert ground(reply.text, sources).ungrounded == 0


async def test_the_close_is_placed_against_its_moving_averages_in_words() -> None:
    indicators = {
        "symbol": "MSFT",
        "as_of": "2012-03-14",
        "close": 32.77,
        "bars_used": 506,
        "source": "replay",
        "names": ["sma"],
        "indicators": {"sma_20": 33.1, "sma_50": 30.05, "sma_200": 26.6},
    }
    messages = turn_with(
        "Is MSFT above its 200 day moving average?",
        [("indicators", {"symbol": "MSFT", "names": ["sma", "ema"]}, indicators)],
    )
    _, reply = await answer(messages)
    assert "- The close is above `sma_50` and `sma_200` and below `sma_20`." in reply.text
    sources = [GroundingSource("offline-1-1", "indicators", indicators)]
    assert ground(reply.text, sources).ungrounded == 0


async def test_a_result_that_is_not_json_is_reported() -> None:
    messages = turn_with("What is AAPL trading at?", [("quote", {"symbol": "AAPL"}, None)])
    messages[-1]["content"] = '{"symbol": "AAPL", "price": 44'
    _, reply = await answer(messages)
    assert "I could not get a quote for AAPL: the result was not readable JSON" in reply.text
    assert "44" not in reply.text


async def test_the_answer_streams_in_sentences_and_counts_its_tokens() -> None:
    quote = {
        "symbol": "IBM",
        "price": 196.29,
        "previous_close": 197.53,
        "change": -1.24,
        "change_percent": -0.6278,
        "currency": "USD",
        "as_of": "2012-03-01T16:00:00-05:00",
        "source": "replay",
        "stale": False,
    }
    messages = turn_with("How is IBM doing?", [("quote", {"symbol": "IBM"}, quote)])
    deltas, reply = await answer(messages)
    assert len(deltas) > 1
    assert "".join(deltas) == reply.text
    assert "down 1.24 (0.63%) from the previous close of 197.53" in reply.text
    assert reply.finish_reason == "stop"
    assert reply.model == "marketscope-offline"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == count_tokens(reply.text)
    tools_json = json.dumps([spec.as_openai() for spec in TOOLS])
    assert reply.usage.prompt_tokens == messages_tokens(messages) + count_tokens(tools_json)
    assert reply.usage.estimated is False
    grounded = ground(reply.text, [GroundingSource("offline-1-1", "quote", quote)])
    assert grounded.ungrounded == 0


async def test_tool_choice_none_writes_from_what_is_there() -> None:
    messages = turn_with(
        "How risky is my watchlist?",
        [("watchlist", {}, {"owner": "u", "symbols": ["AAPL"], "updated_at": None})],
    )
    _, reply = await answer(messages, tool_choice="none")
    assert reply.tool_calls == ()
    assert "Your watchlist: AAPL." in reply.text


async def test_an_empty_watchlist_ends_the_turn() -> None:
    messages = turn_with(
        "How risky is my watchlist?",
        [("watchlist", {}, {"owner": "u", "symbols": [], "updated_at": None})],
    )
    _, reply = await answer(messages)
    assert reply.tool_calls == ()
    assert "Your watchlist is empty" in reply.text


async def test_a_second_answer_in_the_turn_has_no_offline_line() -> None:
    messages = turn_with(
        "Tell me about IBM",
        [("profile", {"symbol": "IBM"}, {"symbol": "IBM", "name": "IBM Corp", "source": "replay"})],
    )
    _, first = await answer(messages)
    assert first.text.startswith(OFFLINE_NOTE)
    messages += [
        {"role": "assistant", "content": first.text},
        {"role": "system", "content": "Write it again."},
    ]
    _, second = await answer(messages)
    assert not second.text.startswith(OFFLINE_NOTE)
    assert "**IBM** is IBM Corp." in second.text


async def test_the_engine_describes_itself() -> None:
    engine = OfflineEngine()
    assert (engine.provider, engine.model) == ("offline", "marketscope-offline")
    capabilities = engine.capabilities
    assert capabilities.tool_choice
    assert capabilities.parallel_tool_calls
    assert capabilities.include_usage
    assert capabilities.context_tokens == 32_768


@pytest.mark.parametrize(
    "text", ["One. Two? Three!\n\nFour: 1.25 and 3.5.", "no end", "", "a\n- b [1]. c"]
)
async def test_split_sentences_keeps_every_character(text: str) -> None:
    assert "".join(split_sentences(text)) == text
