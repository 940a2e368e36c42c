"""Upcasters: read an event stored at an old version as the current version.

Each upcaster turns the JSON ``data`` of version N into version N+1; a chain applies them
in order. Stored events are never rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from marketscope_events.errors import UpcastError

JsonObject = dict[str, Any]
Upcaster = Callable[[JsonObject], JsonObject]


class UpcasterChain:
    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_name: str, from_version: int, upcaster: Upcaster) -> None:
        self._steps[(event_name, from_version)] = upcaster

    def upcast(
        self, event_name: str, data: JsonObject, from_version: int, to_version: int
    ) -> JsonObject:
        if from_version > to_version:
            raise UpcastError(event_name, from_version, to_version)
        for version in range(from_version, to_version):
            step = self._steps.get((event_name, version))
            if step is None:
                raise UpcastError(event_name, from_version, to_version)
            data = step(dict(data))
        return data


def quote_updated_v1_to_v2(data: JsonObject) -> JsonObject:
    """v2 renames ``source`` to ``provider`` and adds the change since the previous price."""
    price = Decimal(str(data["price"]))
    previous = data.get("previous_price")
    change: Decimal | None = None
    change_percent: Decimal | None = None
    if previous is not None:
        previous_price = Decimal(str(previous))
        change = price - previous_price
        if previous_price != 0:
            change_percent = (change / previous_price * 100).quantize(Decimal("0.0001"))
    upgraded = {key: value for key, value in data.items() if key != "source"}
    upgraded["provider"] = data["source"]
    upgraded["change"] = None if change is None else str(change)
    upgraded["change_percent"] = None if change_percent is None else str(change_percent)
    return upgraded


_V1_CONDITIONS = {
    "above": ("greater_than", "is above"),
    "below": ("less_than", "is below"),
    "change_percent_above": ("moving_up_pct", "moves up"),
    "change_percent_below": ("moving_down_pct", "moves down"),
}


def alert_triggered_v1_to_v2(data: JsonObject) -> JsonObject:
    """v2 names conditions as the alerts API does and says why the alert fired; a v1
    percent condition was over a day."""
    kind, words = _V1_CONDITIONS[data["condition"]]
    threshold = Decimal(str(data["threshold"]))
    if kind.startswith("moving"):
        percent = float(abs(threshold))
        condition: JsonObject = {"kind": kind, "percent": percent, "window_seconds": 86400}
        description = f"{words} {abs(threshold)}% within 1 day"
    else:
        condition = {"kind": kind, "level": float(threshold)}
        description = f"{words} {threshold}"
    return {
        "alert_id": data["alert_id"],
        "owner": data["owner"],
        "symbol": data["symbol"],
        "condition": condition,
        "description": description,
        "reason": f"price {description} (at {data['price']})",
        "price": data["price"],
        "as_of": data["triggered_at"],
        "fire_count": 1,
        "finished": False,
        "state": {},
        "triggered_at": data["triggered_at"],
    }


def default_upcasters() -> UpcasterChain:
    chain = UpcasterChain()
    chain.register("QuoteUpdated", 1, quote_updated_v1_to_v2)
    chain.register("AlertTriggered", 1, alert_triggered_v1_to_v2)
    return chain
