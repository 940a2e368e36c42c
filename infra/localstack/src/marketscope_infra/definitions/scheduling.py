"""EventBridge schedules: the weekday quote refresh, delivered to market-data's queue."""

from __future__ import annotations

from dataclasses import dataclass

from marketscope_events.catalog import queue_name
from marketscope_infra.definitions.model import Resource, queue_arn


@dataclass(frozen=True)
class ScheduledRule:
    name: str
    schedule: str
    consumer: str
    description: str

    @property
    def target_queue(self) -> str:
        return queue_name(self.consumer)


SCHEDULED_RULES: tuple[ScheduledRule, ...] = (
    ScheduledRule(
        name="marketscope-scheduled-quote-refresh",
        # EventBridge reads cron expressions in UTC: 16:30 UTC, Monday to Friday.
        schedule="cron(30 16 ? * MON-FRI *)",
        consumer="market-data",
        description="Weekday refresh of every watched symbol's quote (market-data)",
    ),
)


def rules_for(service: str) -> list[ScheduledRule]:
    return [rule for rule in SCHEDULED_RULES if rule.consumer == service]


def rules() -> list[Resource]:
    return [
        Resource(
            "rule",
            rule.name,
            {
                "definition": {
                    "Name": rule.name,
                    "EventBusName": "default",
                    "ScheduleExpression": rule.schedule,
                    "State": "ENABLED",
                    "Description": rule.description,
                },
                "targets": [{"Id": rule.target_queue, "Arn": queue_arn(rule.target_queue)}],
            },
        )
        for rule in SCHEDULED_RULES
    ]
