"""What the gateway's SSE proxy adds: the same streamed turn asked of the chat service
directly (signed as the gateway would sign it, `GatewaySigner`) and through the gateway
(bearer token), interleaved pair by pair with the order alternating, each in a fresh
conversation of the same user, the chat's table emptied after each (`chat_table`).
Compared: time to the first byte of the body and to
``message.completed``; besides each side's percentiles, the median of the per-pair
differences, which the machine's noise moves least.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from account import User, new_conversation
from sse import StreamedTurn, stream_turn, summary

QUESTION = "What is AAPL trading at?"
WARM_UP_PAIRS = 3


async def direct_turn(chat: httpx.AsyncClient, question: str) -> StreamedTurn:
    conversation = await new_conversation(chat, "/conversations", {})
    return await stream_turn(chat, f"/conversations/{conversation}/messages", question)


async def through_gateway(gateway: httpx.AsyncClient, user: User, question: str) -> StreamedTurn:
    conversation = await new_conversation(gateway, "/api/v1/conversations", user.auth)
    path = f"/api/v1/conversations/{conversation}/messages"
    return await stream_turn(gateway, path, question, user.auth)


def _complete(turn: StreamedTurn, side: str) -> float:
    if turn.completed_ms is None:
        raise RuntimeError(f"{side} turn ended without message.completed: {turn.names}")
    return turn.completed_ms


async def run_proxy_overhead(
    chat: httpx.AsyncClient,
    gateway: httpx.AsyncClient,
    user: User,
    pairs: int,
    log: Callable[[str], None],
    after_turn: Callable[[], Awaitable[None]],
) -> dict[str, Any]:
    log(f"SSE proxy: {pairs} pairs of turns, direct and through the gateway, interleaved")
    for _ in range(WARM_UP_PAIRS):
        await direct_turn(chat, QUESTION)
        await through_gateway(gateway, user, QUESTION)
        await after_turn()
    first_byte: dict[str, list[float]] = {"direct": [], "gateway": []}
    completed: dict[str, list[float]] = {"direct": [], "gateway": []}
    for number in range(pairs):
        order = ("direct", "gateway") if number % 2 == 0 else ("gateway", "direct")
        for side in order:
            if side == "direct":
                turn = await direct_turn(chat, QUESTION)
            else:
                turn = await through_gateway(gateway, user, QUESTION)
            await after_turn()
            completed[side].append(_complete(turn, side))
            first_byte[side].append(turn.first_byte_ms)
    byte_gaps = [g - d for g, d in zip(first_byte["gateway"], first_byte["direct"], strict=True)]
    answer_gaps = [g - d for g, d in zip(completed["gateway"], completed["direct"], strict=True)]
    direct, gateway_side = summary(first_byte["direct"]), summary(first_byte["gateway"])
    return {
        "question": QUESTION,
        "pairs": pairs,
        "first_byte": {
            "direct": direct,
            "gateway": gateway_side,
            "p50_difference_ms": round(gateway_side["p50_ms"] - direct["p50_ms"], 1),
            "p95_difference_ms": round(gateway_side["p95_ms"] - direct["p95_ms"], 1),
            "paired_difference_median_ms": round(statistics.median(byte_gaps), 1),
        },
        "full_answer": {
            "direct": summary(completed["direct"]),
            "gateway": summary(completed["gateway"]),
            "paired_difference_median_ms": round(statistics.median(answer_gaps), 1),
        },
    }
