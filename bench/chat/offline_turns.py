"""Offline engine turns through the gateway: the 30 questions of the chat's offline
tests, each streamed in a fresh conversation of the benchmark's user, timed to the first
event and to ``message.completed``.

One unmeasured pass warms market-data's caches and every connection pool; then
``repetitions`` measured passes in the file's order, the chat's table emptied after each
turn (`chat_table`). Each turn's tools are compared with the ones the question file
expects, so a figure never comes from turns that went wrong.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from account import User, new_conversation
from sse import StreamedTurn, stream_turn, summary

QUESTIONS_FILE = Path(__file__).resolve().parents[2] / "services/chat/tests/offline_questions.json"


def load_questions() -> list[dict[str, Any]]:
    questions: list[dict[str, Any]] = json.loads(QUESTIONS_FILE.read_text())
    return questions


def watchlist_of(questions: list[dict[str, Any]]) -> list[str]:
    """The watchlist the questions assume the user saved."""
    return next(list(case["watchlist"]) for case in questions if "watchlist" in case)


async def gateway_turn(gateway: httpx.AsyncClient, user: User, question: str) -> StreamedTurn:
    conversation = await new_conversation(gateway, "/api/v1/conversations", user.auth)
    path = f"/api/v1/conversations/{conversation}/messages"
    return await stream_turn(gateway, path, question, user.auth)


def _checked(turn: StreamedTurn, case: dict[str, Any]) -> list[str]:
    """What went wrong with the turn, if anything."""
    problems = []
    if turn.completed_ms is None:
        problems.append(f"no message.completed: {turn.first('error')}")
    if sorted(turn.tools) != sorted(case["tools"]):
        problems.append(f"tools {turn.tools}, expected {case['tools']}")
    return problems


async def run_offline_turns(
    gateway: httpx.AsyncClient,
    user: User,
    questions: list[dict[str, Any]],
    repetitions: int,
    log: Callable[[str], None],
    after_turn: Callable[[], Awaitable[None]],
) -> dict[str, Any]:
    log(f"offline turns: warm-up pass over {len(questions)} questions")
    for case in questions:
        await gateway_turn(gateway, user, case["question"])
        await after_turn()
    first_event: dict[str, list[float]] = {case["question"]: [] for case in questions}
    completed: dict[str, list[float]] = {case["question"]: [] for case in questions}
    tokens: list[int] = []
    per_pass: list[float] = []
    problems: dict[str, list[str]] = {}
    tool_errors: dict[str, list[str]] = {}
    for number in range(1, repetitions + 1):
        pass_completed = []
        for case in questions:
            question = case["question"]
            turn = await gateway_turn(gateway, user, question)
            await after_turn()
            if found := _checked(turn, case):
                problems.setdefault(question, []).extend(found)
                continue
            assert turn.completed_ms is not None
            first_event[question].append(turn.first_event_ms)
            completed[question].append(turn.completed_ms)
            pass_completed.append(turn.completed_ms)
            if turn.tool_errors:  # reported to the model as the result; the turn is fine
                tool_errors[question] = turn.tool_errors
            usage = turn.first("usage")
            if usage is not None:
                tokens.append(int(usage["total_tokens"]))
        per_pass.append(round(statistics.median(pass_completed), 1) if pass_completed else 0.0)
        log(
            f"  pass {number}/{repetitions}: full answer median {per_pass[-1]} ms, "
            f"{len(pass_completed)}/{len(questions)} turns as expected"
        )
    every_first = [value for values in first_event.values() for value in values]
    every_completed = [value for values in completed.values() for value in values]
    if not every_completed:
        raise RuntimeError(f"no offline turn went as expected: {problems}")
    return {
        "questions": len(questions),
        "repetitions": repetitions,
        "turns_measured": len(every_completed),
        "first_event": summary(every_first),
        "full_answer": summary(every_completed),
        "full_answer_median_per_pass_ms": per_pass,
        "tokens_per_answer_median": statistics.median(tokens) if tokens else None,
        "per_question": [
            {
                "question": case["question"],
                "tools": case["tools"],
                "first_event_median_ms": _median(first_event[case["question"]]),
                "full_answer_median_ms": _median(completed[case["question"]]),
            }
            for case in questions
        ],
        "tool_errors": tool_errors,
        "problems": problems,
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None
