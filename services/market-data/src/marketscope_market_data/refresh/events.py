"""EventBridge's "Scheduled Event" as it arrives in an SQS message body (not CloudEvents)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types_aiobotocore_events.type_defs import PutEventsRequestEntryTypeDef

SCHEDULED_DETAIL_TYPE = "Scheduled Event"
SCHEDULED_SOURCE = "aws.events"


class RejectedMessage(Exception):
    """A queue message that is not a scheduled refresh: it goes to the DLQ."""


@dataclass(frozen=True)
class ScheduledEvent:
    id: str
    time: datetime
    rule_arn: str


def is_scheduled_event(event: object) -> bool:
    """Whether the parsed message body ``event`` is a Scheduled Event of any rule."""
    return (
        isinstance(event, dict)
        and event.get("detail-type") == SCHEDULED_DETAIL_TYPE
        and event.get("source") == SCHEDULED_SOURCE
    )


def parse_scheduled_event(body: str, rule_name: str) -> ScheduledEvent:
    """The scheduled event of ``rule_name`` in the message body ``body``, else
    RejectedMessage saying why."""
    try:
        event = json.loads(body)
    except json.JSONDecodeError as exc:
        raise RejectedMessage(f"body is not JSON: {exc.msg}") from exc
    return scheduled_event_of(event, rule_name)


def scheduled_event_of(event: object, rule_name: str) -> ScheduledEvent:
    """The scheduled event of ``rule_name`` in the parsed body ``event``, else
    RejectedMessage saying why."""
    if not isinstance(event, dict):
        raise RejectedMessage("body is not a JSON object")
    if event.get("detail-type") != SCHEDULED_DETAIL_TYPE:
        raise RejectedMessage(f"detail-type is {event.get('detail-type')!r}, not a Scheduled Event")
    if event.get("source") != SCHEDULED_SOURCE:
        raise RejectedMessage(f"source is {event.get('source')!r}, not {SCHEDULED_SOURCE}")
    resources = event.get("resources")
    rules = [
        arn
        for arn in (resources if isinstance(resources, list) else [])
        if isinstance(arn, str) and arn.endswith(f":rule/{rule_name}")
    ]
    if not rules:
        raise RejectedMessage(f"not from the rule {rule_name} (resources {resources!r})")
    try:
        time = datetime.fromisoformat(str(event.get("time", "")).replace("Z", "+00:00"))
    except ValueError as exc:
        raise RejectedMessage(f"time {event.get('time')!r} is not ISO-8601") from exc
    return ScheduledEvent(id=str(event.get("id", "")), time=time, rule_arn=rules[0])


def scheduled_event_entry(rule_arn: str, time: datetime, bus: str) -> PutEventsRequestEntryTypeDef:
    """The PutEvents entry of the event EventBridge emits when ``rule_arn`` fires."""
    return {
        "Time": time,
        "Source": SCHEDULED_SOURCE,
        "DetailType": SCHEDULED_DETAIL_TYPE,
        "Detail": "{}",
        "Resources": [rule_arn],
        "EventBusName": bus,
    }
