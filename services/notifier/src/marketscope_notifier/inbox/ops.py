"""CloudWatch alarm notifications from the ops topic: SNS JSON (not CloudEvents), taken
by the consumer's raw route ``cloudwatch-alarm``. Each state change becomes a
notification of kind ``ops`` for every admin (`operators.py`)."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

from marketscope_events import RawMessage, RawRoute, TerminalHandlerError
from marketscope_events.catalog.events import NotificationCreated
from marketscope_events.consuming import unwrap_sns
from marketscope_notifier.inbox.notices import Notices
from marketscope_notifier.inbox.operators import Operators
from marketscope_notifier.inbox.repository import notification_id

logger = logging.getLogger(__name__)
ALARM_ROUTE = "cloudwatch-alarm"
OPS_LINK = "/ops"


def is_alarm(message: RawMessage) -> bool:
    alarm = unwrap_sns(message.body)
    return isinstance(alarm, dict) and "AlarmName" in alarm and "NewStateValue" in alarm


def alarm_key(message: RawMessage) -> str:
    """SNS's MessageId: the same for every copy of one notification."""
    body = message.body
    if isinstance(body, dict) and isinstance(body.get("MessageId"), str):
        return str(body["MessageId"])
    return message.message_id


def _changed_at(alarm: dict[str, Any]) -> datetime:
    text = str(alarm.get("StateChangeTime", ""))
    try:
        # CloudWatch writes "2026-12-02T10:00:00.000+0000".
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def alarm_text(alarm: dict[str, Any]) -> tuple[str, str]:
    """The title and body of the notification an alarm state change makes."""
    name, state = str(alarm["AlarmName"]), str(alarm["NewStateValue"])
    previous = alarm.get("OldStateValue")
    verb = {"ALARM": "is in alarm", "OK": "is back to OK"}.get(state, f"is {state}")
    title = f"{name} {verb}"[:200]
    reason = str(alarm.get("NewStateReason") or "").strip()
    since = f" (was {previous})" if previous else ""
    description = str(alarm.get("AlarmDescription") or "").strip()
    body = " ".join(part for part in (description, reason) if part) + since
    return title, body or f"{name}: {state}"


class OpsNotices:
    def __init__(self, operators: Operators, notices: Notices) -> None:
        self._operators = operators
        self._notices = notices

    def route(self) -> RawRoute:
        return RawRoute(
            name=ALARM_ROUTE, matches=is_alarm, handler=self.on_alarm, idempotency_key=alarm_key
        )

    async def on_alarm(self, message: RawMessage) -> None:
        alarm = unwrap_sns(message.body)
        if not isinstance(alarm, dict):
            raise TerminalHandlerError("not a CloudWatch alarm notification")
        title, body = alarm_text(alarm)
        changed_at = _changed_at(alarm)
        admins = await self._operators.admins()
        if not admins:
            logger.warning("alarm %s: no admin is known to tell", alarm["AlarmName"])
        # One notification per state change and admin, however often SNS sends it.
        change = f"{alarm['AlarmName']}:{alarm['NewStateValue']}:{alarm.get('StateChangeTime')}"
        for admin in admins:
            unique = hashlib.sha256(f"{change}:{admin}".encode()).hexdigest()
            await self._notices.create(
                NotificationCreated(
                    notification_id=notification_id(changed_at, unique),
                    owner=admin,
                    kind="ops",
                    title=title,
                    body=body,
                    link=OPS_LINK,
                    created_at=changed_at,
                )
            )
