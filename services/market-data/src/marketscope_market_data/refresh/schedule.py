"""EventBridge cron expressions (``cron(min hour day-of-month month day-of-week year)``,
UTC) and the next time one fires. Names and numbers as AWS reads them: days of the week
1-7 are SUN-SAT; ``?`` leaves a day field to the other one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_LIMITS = [(0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199)]
_SEARCH_DAYS = 366 * 8


class InvalidSchedule(ValueError):
    pass


def _value(token: str, names: dict[str, int]) -> int:
    upper = token.upper()
    if upper in names:
        return names[upper]
    if not upper.isdigit():
        raise InvalidSchedule(f"{token!r} is not a number or a known name")
    return int(upper)


def _field(text: str, low: int, high: int, names: dict[str, int]) -> frozenset[int] | None:
    """The values a field admits; None for ``*`` or ``?`` (any)."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            first, last = low, high
        elif "-" in body:
            first_text, last_text = body.split("-", 1)
            first, last = _value(first_text, names), _value(last_text, names)
        else:
            first = _value(body, names)
            last = high if step_text else first
        if not (low <= first <= last <= high) or step < 1:
            raise InvalidSchedule(f"{part!r} is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    days_of_month: frozenset[int] | None
    months: frozenset[int] | None
    days_of_week: frozenset[int] | None
    years: frozenset[int] | None

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        text = expression.strip()
        if not (text.startswith("cron(") and text.endswith(")")):
            raise InvalidSchedule(f"{expression!r} is not cron(...)")
        fields = text[5:-1].split()
        if len(fields) != 6:
            raise InvalidSchedule(f"{expression!r} needs 6 fields, has {len(fields)}")
        name_maps: list[dict[str, int]] = [{}, {}, {}, _MONTHS, _DAYS, {}]
        parsed = [
            _field(field, low, high, names)
            for field, (low, high), names in zip(fields, _LIMITS, name_maps, strict=True)
        ]
        return cls(expression, *parsed)

    def _day_matches(self, day: datetime) -> bool:
        aws_weekday = (day.isoweekday() % 7) + 1  # Sunday is 1
        return (
            (self.years is None or day.year in self.years)
            and (self.months is None or day.month in self.months)
            and (self.days_of_month is None or day.day in self.days_of_month)
            and (self.days_of_week is None or aws_weekday in self.days_of_week)
        )

    def next_after(self, moment: datetime) -> datetime:
        """The first firing time strictly after ``moment`` (UTC)."""
        moment = moment.astimezone(UTC)
        hours = sorted(self.hours) if self.hours is not None else range(24)
        minutes = sorted(self.minutes) if self.minutes is not None else range(60)
        day = datetime.combine(moment.date(), time(0), UTC)
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for hour in hours:
                    for minute in minutes:
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate > moment:
                            return candidate
            day += timedelta(days=1)
        raise InvalidSchedule(f"{self.expression} never fires after {moment.isoformat()}")
