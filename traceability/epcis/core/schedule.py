"""EPCIS query schedules (the QuerySchedule of EPCIS 1.2 section 8.2.5.3, kept by the 2.0 REST
binding): which instants a scheduled subscription runs at, as cron does.

Each field (``second``, ``minute``, ``hour``, ``dayOfMonth``, ``month``, ``dayOfWeek``) is a
comma-separated list of numbers and ranges ``[a-b]``; an omitted field matches any value, and a
time matches when every given field does. Times are read in UTC (the standard lets the service
choose the time zone). Pure: no Django, and ``now`` is always passed in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# The legal range of each field, as the standard states it (dayOfWeek: 1 is Monday, 7 Sunday).
FIELD_RANGES = {
    "second": (0, 59),
    "minute": (0, 59),
    "hour": (0, 23),
    "dayOfMonth": (1, 31),
    "month": (1, 12),
    "dayOfWeek": (1, 7),
}
_ELEMENT = re.compile(r"(\d{1,2})|\[(\d{1,2})-(\d{1,2})\]")
# How far ahead a query time is looked for: a 29 February that must fall on a given weekday
# recurs within 28 years; a schedule that never matches (31 February) is found out by then.
HORIZON_DAYS = 29 * 366


class ScheduleError(ValueError):
    """A schedule that does not follow the grammar or names a number out of range."""


@dataclass(frozen=True)
class Schedule:
    """The allowed values of each field; ``None`` where the field was omitted (any value)."""

    second: frozenset[int] | None = None
    minute: frozenset[int] | None = None
    hour: frozenset[int] | None = None
    day_of_month: frozenset[int] | None = None
    month: frozenset[int] | None = None
    day_of_week: frozenset[int] | None = None

    def _day_matches(self, day: datetime) -> bool:
        return (
            (self.month is None or day.month in self.month)
            and (self.day_of_month is None or day.day in self.day_of_month)
            and (self.day_of_week is None or day.isoweekday() in self.day_of_week)
        )

    def matches(self, moment: datetime) -> bool:
        moment = moment.astimezone(UTC)
        return (
            self._day_matches(moment)
            and (self.hour is None or moment.hour in self.hour)
            and (self.minute is None or moment.minute in self.minute)
            and (self.second is None or moment.second in self.second)
        )

    def next_after(self, after: datetime) -> datetime | None:
        """The first query time strictly after ``after`` (to the second), or None if there is none."""
        start = after.astimezone(UTC).replace(microsecond=0)
        day = start.replace(hour=0, minute=0, second=0)
        for offset in range(HORIZON_DAYS):
            candidate = day + timedelta(days=offset)
            if not self._day_matches(candidate):
                continue
            floor = (start.hour, start.minute, start.second) if offset == 0 else None
            clock = _first_clock_after(self, floor)
            if clock is not None:
                return candidate.replace(hour=clock[0], minute=clock[1], second=clock[2])
        return None

    def due(self, *, since: datetime, now: datetime) -> bool:
        """Whether a query time falls in ``(since, now]``: a run is due."""
        upcoming = self.next_after(since)
        return upcoming is not None and upcoming <= now


def _values(allowed: frozenset[int] | None, low: int, high: int) -> list[int]:
    return sorted(allowed) if allowed is not None else list(range(low, high + 1))


def _first_clock_after(schedule: Schedule, floor: tuple[int, int, int] | None) -> tuple[int, int, int] | None:
    """The earliest (hour, minute, second) of a day that the schedule allows, after ``floor`` if given."""
    hours = _values(schedule.hour, 0, 23)
    minutes = _values(schedule.minute, 0, 59)
    seconds = _values(schedule.second, 0, 59)
    if floor is None:
        return hours[0], minutes[0], seconds[0]
    for hour in hours:
        if hour > floor[0]:
            return hour, minutes[0], seconds[0]
        if hour < floor[0]:
            continue
        for minute in minutes:
            if minute > floor[1]:
                return hour, minute, seconds[0]
            if minute < floor[1]:
                continue
            for second in seconds:
                if second > floor[2]:
                    return hour, minute, second
    return None


def parse_field(name: str, text: object) -> frozenset[int]:
    low, high = FIELD_RANGES[name]
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text:
        raise ScheduleError(f"{name}: a schedule field is a non-empty string such as 5, 1,5 or [1-5]")
    values: set[int] = set()
    for element in text.split(","):
        match = _ELEMENT.fullmatch(element.strip())
        if match is None:
            raise ScheduleError(f"{name}: {element!r} is neither a number nor a range [a-b]")
        if match.group(1) is not None:
            first = last = int(match.group(1))
        else:
            first, last = int(match.group(2)), int(match.group(3))
            if first > last:
                raise ScheduleError(f"{name}: the range [{first}-{last}] runs backwards")
        if first < low or last > high:
            raise ScheduleError(f"{name}: values run from {low} to {high}")
        values.update(range(first, last + 1))
    return frozenset(values)


def parse_schedule(fields: Mapping[str, object]) -> Schedule:
    """A schedule from its fields as the binding writes them (``{"hour": "1", "minute": "5"}``)."""
    unknown = sorted(set(fields) - set(FIELD_RANGES))
    if unknown:
        raise ScheduleError(f"unknown schedule fields: {', '.join(unknown)}")
    if not fields:
        raise ScheduleError("a schedule names at least one field")
    parsed = {name: parse_field(name, value) for name, value in fields.items()}
    return Schedule(
        second=parsed.get("second"),
        minute=parsed.get("minute"),
        hour=parsed.get("hour"),
        day_of_month=parsed.get("dayOfMonth"),
        month=parsed.get("month"),
        day_of_week=parsed.get("dayOfWeek"),
    )
