"""Setting the evaluation phase's alerts, each as the notifier would have it after its
symbol's first price: made with the notifier's own `AlertService.create`, then, when that
first price primes it (a crossing's or a channel's starting side), the AlertObserved the
evaluator appends for it, computed by the notifier's own `evaluate` and appended through
its `AlertRepository`; the symbol's first price goes in its `PriceWindow`.

``--seed-requests batched`` (the default) hands those classes a `BufferedWrites` in place
of their DynamoDB client: every item they write is kept (the last write of a key wins)
and sent to the emulator afterwards with BatchWriteItem, 25 items a request. moto takes
2-3 ms of its one core per request whatever its size, and every alert costs three to six
requests one by one (about 80 alerts/s here; 10,000 would take two minutes, the priming
appends as long again); batched, the same items take a few seconds. The conditions of
those writes (a new stream, a view no newer than the one written) hold for new alerts
by construction; `verify` then reads a sample back through the notifier's repository on
the emulator. ``--seed-requests single`` sends every write as the notifier does, one
request each, conditions checked by the emulator.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from figures import Log, Progress, rate
from population import Population
from shards import Shards

from marketscope_events import CATALOG, Loaded
from marketscope_events.catalog.events import AlertObserved
from marketscope_notifier.alerts.conditions import evaluate
from marketscope_notifier.alerts.prices import PriceWindow
from marketscope_notifier.alerts.repository import AlertRepository
from marketscope_notifier.alerts.service import AlertService, AlertSpec
from marketscope_notifier.alerts.state import AlertState
from marketscope_notifier.store import open_event_store

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

BATCH = 25  # BatchWriteItem's limit
SEED_REQUESTS = ("batched", "single")
Item = dict[str, Any]


class BufferedWrites:
    """The writes of new alerts, kept to be sent in batches: the DynamoDB calls the
    alert classes make when they set an alert (``put_item``, ``transact_write_items``
    of Puts and ConditionChecks). Anything else is refused, so nothing is silently
    answered in the emulator's place."""

    def __init__(self, key_names: Sequence[str] = ("pk", "sk")) -> None:
        self._key_names = tuple(key_names)
        self._items: dict[str, dict[tuple[str, ...], Item]] = {}

    def _keep(self, table: str, item: Item) -> None:
        key = tuple(str(item[name]) for name in self._key_names)
        self._items.setdefault(table, {})[key] = item

    async def put_item(self, *, TableName: str, Item: Item, **_condition: Any) -> dict[str, Any]:
        self._keep(TableName, Item)
        return {}

    async def transact_write_items(
        self, *, TransactItems: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        for action in TransactItems:
            if "Put" in action:
                self._keep(action["Put"]["TableName"], action["Put"]["Item"])
            elif "ConditionCheck" not in action:
                raise ValueError(f"a new alert's append has no {sorted(action)} action")
        return {}

    @property
    def item_count(self) -> int:
        return sum(len(items) for items in self._items.values())

    async def send(self, dynamodb: DynamoDBClient, concurrency: int, log: Log) -> int:
        """Every kept item, ``BATCH`` a request, ``concurrency`` requests at a time."""
        batches = [
            (table, chunk[start : start + BATCH])
            for table, items in self._items.items()
            for chunk in [list(items.values())]
            for start in range(0, len(chunk), BATCH)
        ]
        progress = Progress(log, "items written", self.item_count)
        gate = asyncio.Semaphore(concurrency)

        async def write(table: str, items: list[Item]) -> None:
            async with gate:
                requests: Any = [{"PutRequest": {"Item": item}} for item in items]
                while requests:
                    done = await dynamodb.batch_write_item(RequestItems={table: requests})
                    requests = done.get("UnprocessedItems", {}).get(table, [])
            progress.advance(len(items))

        await asyncio.gather(*(write(table, items) for table, items in batches))
        return len(batches)


async def set_primed(
    db: Any, table: str, owner: str, spec: AlertSpec, price: float, as_of: datetime
) -> tuple[AlertState, bool]:
    """One alert as its first price leaves it; whether that price primed it."""
    repository = AlertRepository(open_event_store(db, table), db, table)
    state = await AlertService(repository).create(owner, spec)
    result = evaluate(state.condition, state.frequency, state.evaluation, price, as_of)
    if result.fired:
        raise ValueError(f"{state.id}: the first price {price} fires it ({result.reason})")
    if not result.changed:
        return state, False
    observed = AlertObserved(
        alert_id=state.id,
        price=Decimal(repr(price)),
        as_of=as_of,
        state=result.state.model_dump(mode="json"),
    )
    event = CATALOG.new_event(observed, subject=state.id)
    loaded = await repository.append(Loaded(state, 1), state.id, [event])
    return loaded.state, True


async def seed(
    shards: Shards,
    dynamodb: DynamoDBClient,
    population: Population,
    count: int,
    requests: str,
    concurrency: int,
    log: Log,
) -> tuple[dict[str, Any], dict[str, list[AlertState]]]:
    """``count`` alerts, primed by the first prices at round 0's market time; the
    alerts set, by symbol."""
    if requests not in SEED_REQUESTS:
        raise ValueError(f"--seed-requests is one of {SEED_REQUESTS}")
    buffer = BufferedWrites()
    db: Any = buffer if requests == "batched" else dynamodb
    as_of = population.as_of(0)
    prices = population.first_prices()
    by_symbol: dict[str, list[AlertState]] = {symbol: [] for symbol in population.symbols}
    kinds: dict[str, int] = {}
    frequencies: dict[str, int] = {}
    primed = 0
    progress = Progress(log, "alerts set", count)
    gate = asyncio.Semaphore(1 if requests == "batched" else concurrency)

    async def one(owner: str, spec: AlertSpec) -> None:
        nonlocal primed
        async with gate:
            table = shards.of(spec.symbol).table
            state, was_primed = await set_primed(db, table, owner, spec, prices[spec.symbol], as_of)
        by_symbol[spec.symbol].append(state)
        primed += was_primed
        kinds[spec.condition.kind] = kinds.get(spec.condition.kind, 0) + 1
        frequencies[spec.frequency.kind] = frequencies.get(spec.frequency.kind, 0) + 1
        progress.advance()

    started = time.perf_counter()
    await asyncio.gather(*(one(owner, spec) for owner, spec in population.alerts(count)))
    for symbol, price in prices.items():  # what the evaluator records once it evaluated
        await PriceWindow(db, shards.of(symbol).table).record(symbol, price, as_of)
    made = time.perf_counter() - started
    batches = 0
    if requests == "batched":
        log(f"  {buffer.item_count} items kept; writing them")
        batches = await buffer.send(dynamodb, concurrency, log)
    seconds = time.perf_counter() - started
    return {
        "alerts": count,
        "primed_by_first_price": primed,
        "through": "AlertService.create, evaluate and AlertRepository.append (the notifier's "
        "own), in the benchmark's process",
        "requests": requests,
        "items_written": buffer.item_count if requests == "batched" else None,
        "batch_requests": batches if requests == "batched" else None,
        "seconds": round(seconds, 1),
        "seconds_making": round(made, 1),
        "alerts_per_second": rate(count, seconds),
        "conditions": dict(sorted(kinds.items())),
        "frequencies": dict(sorted(frequencies.items())),
    }, by_symbol


async def verify(
    shards: Shards,
    dynamodb: DynamoDBClient,
    by_symbol: Mapping[str, Sequence[AlertState]],
    sample: int,
    seed_value: int,
) -> dict[str, Any]:
    """For ``sample`` symbols: the symbol's candidates (its index, as the evaluator
    reads it) are the alerts set for it, and each alert read from its stream (as a
    change reads it) folds to the state set, at the version its index item shows."""
    rng = random.Random(seed_value)
    symbols = rng.sample(sorted(by_symbol), min(sample, len(by_symbol)))
    alerts = 0
    for symbol in symbols:
        table = shards.of(symbol).table
        repository = AlertRepository(open_event_store(dynamodb, table), dynamodb, table)
        candidates = {loaded.state.id: loaded for loaded in await repository.candidates(symbol)}
        expected = {state.id: state for state in by_symbol[symbol]}
        if set(candidates) != set(expected):
            raise RuntimeError(
                f"{symbol}: the index holds {len(candidates)} alerts, not {len(expected)}"
            )
        for alert_id, state in expected.items():
            loaded = await repository.load(alert_id)
            if loaded is None or loaded.state != state or candidates[alert_id].state != state:
                raise RuntimeError(f"{alert_id}: read back other than it was set")
            if loaded.version != candidates[alert_id].version:
                raise RuntimeError(
                    f"{alert_id}: the index shows version "
                    f"{candidates[alert_id].version}, the stream {loaded.version}"
                )
            alerts += 1
    return {"symbols_checked": len(symbols), "alerts_checked": alerts, "all_read_back": True}
