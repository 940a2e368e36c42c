"""Tokens and cost per answer as the chat service counts them, with a model server in
OpenAI's wire format (`fake_model`): the chat runs with the compatible provider, each
question takes one tool call and then the answer, both replies ending with a usage
chunk. Per answer: the ``usage`` event's prompt and completion tokens (summed over its
model calls) and its cost from the price table's row for the model; checked against
what the model server reported and against the row's arithmetic.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from account import new_conversation
from fake_model import PLANS
from sse import stream_turn
from stack import PRICED_MODEL

from marketscope_chat.settings import DEFAULT_PRICES


async def _reported_by_question(model_server: str) -> dict[str, dict[str, int]]:
    async with httpx.AsyncClient(base_url=model_server, timeout=10) as client:
        reported = (await client.get("/bench/usage")).raise_for_status().json()
    sums: dict[str, dict[str, int]] = {}
    for item in reported:
        counts = sums.setdefault(item["question"], {"prompt_tokens": 0, "completion_tokens": 0})
        counts["prompt_tokens"] += item["prompt_tokens"]
        counts["completion_tokens"] += item["completion_tokens"]
    return sums


async def run_token_usage(
    chat: httpx.AsyncClient,
    model_server: str,
    log: Callable[[str], None],
    after_turn: Callable[[], Awaitable[None]],
) -> dict[str, Any]:
    """``chat`` is a signed client of the compatible chat service."""
    log(f"tokens per answer: {len(PLANS)} questions, {PRICED_MODEL} prices")
    price = DEFAULT_PRICES[PRICED_MODEL]
    answers = []
    for question, (tool, _) in PLANS.items():
        conversation = await new_conversation(chat, "/conversations", {})
        turn = await stream_turn(chat, f"/conversations/{conversation}/messages", question)
        await after_turn()
        usage = turn.first("usage")
        if turn.completed_ms is None or usage is None or turn.tools != [tool]:
            raise RuntimeError(f"{question!r}: {turn.names}, tools {turn.tools}")
        answers.append(
            {
                "question": question,
                "tool": tool,
                "model_calls": usage["model_calls"],
                "prompt_tokens": usage["prompt_tokens"],
                "completion_tokens": usage["completion_tokens"],
                "total_tokens": usage["total_tokens"],
                "estimated": usage["estimated"],
                "cost_usd": usage["cost_usd"],
                "full_answer_ms": round(turn.completed_ms, 1),
            }
        )
    reported = await _reported_by_question(model_server)
    for answer in answers:
        server = reported.get(answer["question"], {})
        answer["server_reported"] = server
        answer["matches_server"] = server == {
            "prompt_tokens": answer["prompt_tokens"],
            "completion_tokens": answer["completion_tokens"],
        }
        expected = (
            answer["prompt_tokens"] * price.input + answer["completion_tokens"] * price.output
        ) / 1e6
        answer["cost_matches_price"] = math.isclose(answer["cost_usd"], expected, abs_tol=1e-8)
    costs = [answer["cost_usd"] for answer in answers]
    return {
        "model": PRICED_MODEL,
        "price_usd_per_million": {"input": price.input, "output": price.output},
        "answers": answers,
        "prompt_tokens_median": statistics.median(a["prompt_tokens"] for a in answers),
        "completion_tokens_median": statistics.median(a["completion_tokens"] for a in answers),
        "cost_usd_mean": round(statistics.fmean(costs), 8),
        "cost_usd_per_1000_answers": round(statistics.fmean(costs) * 1000, 4),
        "all_match_server": all(answer["matches_server"] for answer in answers),
        "all_costs_match_price": all(answer["cost_matches_price"] for answer in answers),
    }
