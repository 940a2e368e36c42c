"""What the analyst's model calls cost, and the per-user daily budget.

Every model call is charged to the caller's day in the ledger as soon as it returns, so a
turn that is cut short (budget, disconnect, error) still counts what it used. Before each
model call the day's total is compared with the budget (tokens, cost, or both): a turn
cannot start once it is spent, and a turn that spends it mid-loop stops before its next
call. Days are UTC days; a budget resets at 00:00 UTC.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from marketscope_chat.errors import BudgetExceeded
from marketscope_chat.llm.base import Usage
from marketscope_chat.settings import ModelPrice
from marketscope_chat.store import UsageLedger, UsageTotals
from marketscope_servicekit import MetricsRecorder

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Budget:
    daily_tokens: int | None
    daily_cost_usd: float | None


@dataclass(frozen=True, slots=True)
class UsageSummary:
    today: UsageTotals
    month: UsageTotals
    budget: Budget
    resets_at: datetime


def _over(used: float, needed: float, limit: float) -> bool:
    """Spent once the day reached the limit; a call that needs more must fit under it."""
    return used >= limit if needed == 0 else used + needed > limit


class Spending:
    def __init__(
        self,
        ledger: UsageLedger,
        prices: Mapping[str, ModelPrice],
        budget: Budget,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._ledger = ledger
        self._prices = dict(prices)
        self._budget = budget
        self._clock = clock
        self._unpriced: set[str] = set()

    def cost(self, model: str, usage: Usage) -> float:
        price = self._prices.get(model)
        if price is None:
            if model not in self._unpriced:
                self._unpriced.add(model)
                logger.warning("no price for model %s: its calls cost 0", model)
            return 0.0
        return (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / 1e6

    def _today(self) -> date:
        return self._clock().astimezone(UTC).date()

    def resets_at(self) -> datetime:
        return datetime.combine(self._today() + timedelta(days=1), time(0), tzinfo=UTC)

    async def check(self, owner: str, *, needs: Usage | None = None, model: str = "") -> None:
        """`BudgetExceeded` when the owner's day is spent, or, given what a call ``needs``
        (its prompt and the most it may answer), when that call would spend past it."""
        if self._budget.daily_tokens is None and self._budget.daily_cost_usd is None:
            return
        today = self._today()
        totals = await self._ledger.totals(owner, today, today)
        tokens_needed = 0 if needs is None else needs.total_tokens
        cost_needed = 0.0 if needs is None else self.cost(model, needs)
        spent = []
        tokens = self._budget.daily_tokens
        if tokens is not None and _over(totals.tokens, tokens_needed, tokens):
            spent.append(f"{totals.tokens} of {tokens} tokens")
        cost = self._budget.daily_cost_usd
        if cost is not None and _over(totals.cost_usd, cost_needed, cost):
            spent.append(f"${totals.cost_usd:.4f} of ${cost:.4f}")
        if spent:
            resets = self.resets_at()
            wanted = "" if needs is None else f" for {tokens_needed} more tokens"
            raise BudgetExceeded(
                f"Today's budget has no room{wanted} ({', '.join(spent)} used); it resets "
                f"at {resets.isoformat()}."
                if needs is not None
                else f"Today's budget is spent ({', '.join(spent)}); it resets at "
                f"{resets.isoformat()}.",
                resets_at=resets,
                retry_after=(resets - self._clock()).total_seconds(),
            )

    async def charge(self, owner: str, model: str, usage: Usage) -> float:
        cost = self.cost(model, usage)
        await self._ledger.charge(
            owner,
            self._today(),
            model=model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=cost,
        )
        return cost

    async def summary(self, owner: str) -> UsageSummary:
        today = self._today()
        return UsageSummary(
            today=await self._ledger.totals(owner, today, today),
            month=await self._ledger.totals(owner, today.replace(day=1), today),
            budget=self._budget,
            resets_at=self.resets_at(),
        )


def record_model_call(
    metrics: MetricsRecorder, model: str, usage: Usage, latency_ms: float, cost_usd: float
) -> None:
    """The metrics of one model call: its latency, its tokens by kind and its cost."""
    dimensions = {"Model": model}
    metrics.record("ModelLatency", latency_ms, unit="Milliseconds", dimensions=dimensions)
    for kind, tokens in (("prompt", usage.prompt_tokens), ("completion", usage.completion_tokens)):
        metrics.record("ModelTokens", tokens, unit="Count", dimensions={**dimensions, "Kind": kind})
    metrics.record("ModelCost", cost_usd, dimensions=dimensions)
