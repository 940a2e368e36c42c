"""EventBridge cron expressions: parsing and the next firing time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from marketscope_market_data.refresh.schedule import CronSchedule, InvalidSchedule

RULE = "cron(30 16 ? * MON-FRI *)"


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 1, 5, 9, 0, tzinfo=UTC), datetime(2026, 1, 5, 16, 30, tzinfo=UTC)),  # Mon
        (datetime(2026, 1, 5, 16, 30, tzinfo=UTC), datetime(2026, 1, 6, 16, 30, tzinfo=UTC)),
        (
            datetime(2026, 1, 9, 17, 0, tzinfo=UTC),
            datetime(2026, 1, 12, 16, 30, tzinfo=UTC),
        ),  # Fri->Mon
        (
            datetime(2026, 1, 10, 12, 0, tzinfo=UTC),
            datetime(2026, 1, 12, 16, 30, tzinfo=UTC),
        ),  # Sat
    ],
)
def test_weekday_rule(now: datetime, expected: datetime):
    assert CronSchedule.parse(RULE).next_after(now) == expected


def test_lists_steps_and_month_names():
    schedule = CronSchedule.parse("cron(0/15 9,17 1 JAN ? *)")
    assert schedule.next_after(datetime(2026, 1, 1, 9, 20, tzinfo=UTC)) == datetime(
        2026, 1, 1, 9, 30, tzinfo=UTC
    )
    assert schedule.next_after(datetime(2026, 1, 1, 17, 45, tzinfo=UTC)) == datetime(
        2027, 1, 1, 9, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["rate(5 minutes)", "cron(30 16 * *)", "cron(61 * * * ? *)"])
def test_invalid_expressions(text: str):
    with pytest.raises(InvalidSchedule):
        CronSchedule.parse(text)
