"""Test doubles of the provider port, and helpers shared by the tests."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

from marketscope_events import InMemoryEventStore
from marketscope_events.errors import StoreUnavailableError
from marketscope_market_data.errors import ProviderUnavailable, SymbolNotFound
from marketscope_market_data.providers import MarketDataProvider
from marketscope_market_data.schemas import Bar, History, Interval, Profile, Quote
from marketscope_market_data.settings import REFRESH_RULE


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class FakeProvider(MarketDataProvider):
    """Serves set prices; can be told to fail, to not know a symbol, or to be slow."""

    def __init__(
        self, name: str = "fake", prices: dict[str, float] | None = None, *, listed: bool = False
    ) -> None:
        self.name = name
        self.prices = dict(prices or {"AAPL": 100.0})
        self.calls: list[tuple[str, str]] = []
        self.down = False
        self.delay = 0.0
        self.listed = listed  # its symbols are a closed list, as a replay's are

    def listed_symbols(self) -> list[str] | None:
        return sorted(self.prices) if self.listed else None

    async def _answer(self, operation: str, symbol: str) -> float:
        self.calls.append((operation, symbol))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise ProviderUnavailable(self.name, "down for the test", retry_after=7)
        if symbol not in self.prices:
            raise SymbolNotFound(symbol)
        return self.prices[symbol]

    async def quote(self, symbol: str) -> Quote:
        price = await self._answer("quote", symbol)
        return Quote(
            symbol=symbol,
            price=price,
            previous_close=price - 1,
            as_of=datetime(2013, 3, 1, 21, tzinfo=UTC),
            source=self.name,
        )

    async def history(self, symbol: str, start: date, end: date, interval: Interval) -> History:
        price = await self._answer("history", symbol)
        bar = Bar(
            date=end, open=price, high=price, low=price, close=price, adj_close=price, volume=1
        )
        return History(symbol=symbol, interval=interval, bars=[bar], source=self.name)

    async def profile(self, symbol: str) -> Profile:
        await self._answer("profile", symbol)
        return Profile(symbol=symbol, name=f"{symbol} Inc.", source=self.name)


def unique_symbol() -> str:
    """A valid ticker no other test uses (cache items outlive a test on the emulator)."""
    return "Z" + uuid.uuid4().hex[:9].upper()


def quote(symbol: str, price: float) -> Quote:
    """A replayed quote of ``symbol`` at ``price`` (previous close 2 lower)."""
    return Quote(
        symbol=symbol,
        price=price,
        previous_close=price - 2,
        as_of=datetime(2012, 3, 1, 21, tzinfo=UTC),
        source="replay",
    )


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """Lambda's SQS event for received messages (the shape its event source mapping sends)."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


class UnwritableEventStore(InMemoryEventStore):
    """An event store whose appends fail as an unreachable table's would."""

    async def append(self, stream_id: str, events: Any, **kwargs: Any) -> Any:
        raise StoreUnavailableError(f"append to {stream_id}: the table does not answer")


def scheduled_event(rule: str = REFRESH_RULE, *, event_id: str | None = None) -> dict[str, Any]:
    """EventBridge's Scheduled Event of ``rule``, as the rule delivers it to the queue."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2026-01-05T16:30:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{rule}"],
        "detail": {},
    }


class RacedEventStore(InMemoryEventStore):
    """An event store where another instance's append lands just before this one's first
    append (once): the first append then conflicts."""

    def __init__(self, competitor: Any) -> None:
        super().__init__()
        self._competitor: Any = competitor  # the Envelope the other instance appends
        self.conflicts = 0

    async def append(self, stream_id: str, events: Any, **kwargs: Any) -> Any:
        if self._competitor is not None:
            competitor, self._competitor = self._competitor, None
            await super().append(stream_id, [competitor], expected_version=0)
            self.conflicts += 1
        return await super().append(stream_id, events, **kwargs)
