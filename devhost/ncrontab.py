"""Timer-trigger schedules: NCRONTAB expressions and TimeSpan intervals, read as the host does.

Our own parser, because the maintained cron libraries read other dialects (croniter accepts L, W,
#, ?, 7 for Sunday, wraps reversed ranges; cronsim has no seconds field first): see
tests/devhost/fidelity/test_cron_ncrontab_dialect.py.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# NCrontab numbers days of the week from Sunday = 0 (Python's weekday() starts at Monday).
DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_FEBRUARY = 2


class Schedule(Protocol):
    """When a timer function runs next."""

    @property
    def expression(self) -> str: ...

    def next_occurrence(self, after: datetime) -> datetime: ...


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()


_SECOND = _Field("second", 0, 59)
_MINUTE = _Field("minute", 0, 59)
_HOUR = _Field("hour", 0, 23)
_DAY = _Field("day", 1, 31)
_MONTH = _Field("month", 1, 12, MONTH_NAMES)
_DAY_OF_WEEK = _Field("day-of-week", 0, 6, DAY_NAMES)
_SIX_FIELDS = (_SECOND, _MINUTE, _HOUR, _DAY, _MONTH, _DAY_OF_WEEK)
_LAYOUT = "{second} {minute} {hour} {day} {month} {day-of-week}"


@dataclass(frozen=True)
class CronSchedule:
    """An NCRONTAB expression: a day must match both the day and day-of-week fields."""

    expression: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    days_of_week: frozenset[int]

    def next_occurrence(self, after: datetime) -> datetime:
        """The first whole second strictly after ``after`` that the expression matches (UTC)."""
        start = _as_utc(after).replace(microsecond=0) + timedelta(seconds=1)
        floor = (start.hour, start.minute, start.second)
        # The Gregorian calendar repeats every 400 years, so a date that exists at all
        # (checked when parsing) recurs with every weekday within that span.
        for year in range(start.year, min(start.year + 401, 10_000)):
            for month in self.months:
                if (year, month) < (start.year, start.month):
                    continue
                same_month = (year, month) == (start.year, start.month)
                last_day = calendar.monthrange(year, month)[1]
                for day in self.days:
                    if day > last_day:
                        break
                    if same_month and day < start.day:
                        continue
                    if (date(year, month, day).weekday() + 1) % 7 not in self.days_of_week:
                        continue
                    at = self._time_of_day(floor if same_month and day == start.day else None)
                    if at is not None:
                        return datetime(year, month, day, *at, tzinfo=UTC)
        raise ValueError(f"'{self.expression}' has no occurrence after {after} before year 10000")

    def _time_of_day(self, floor: tuple[int, int, int] | None) -> tuple[int, int, int] | None:
        """The earliest matching (hour, minute, second) at or after ``floor`` on one day."""
        if floor is None:
            return self.hours[0], self.minutes[0], self.seconds[0]
        hour, minute, second = floor
        for h in self.hours[bisect_left(self.hours, hour) :]:
            if h > hour:
                return h, self.minutes[0], self.seconds[0]
            for m in self.minutes[bisect_left(self.minutes, minute) :]:
                if m > minute:
                    return h, m, self.seconds[0]
                index = bisect_left(self.seconds, second)
                if index < len(self.seconds):
                    return h, m, self.seconds[index]
        return None


@dataclass(frozen=True)
class IntervalSchedule:
    """A TimeSpan schedule: runs every ``interval``, counted from the previous occurrence."""

    expression: str
    interval: timedelta

    def next_occurrence(self, after: datetime) -> datetime:
        return _as_utc(after) + self.interval


def parse_schedule(expression: str) -> CronSchedule | IntervalSchedule:
    """Parse a timer trigger's schedule the way the host chooses between its two forms.

    Five fields parse as NCRONTAB without seconds, other field counts as six-field NCRONTAB;
    only when that fails is a single token tried as a TimeSpan.
    """
    tokens = [token for token in expression.split(" ") if token]
    if len(tokens) in (5, 6):
        return parse_cron(expression)
    if len(tokens) == 1:
        try:
            return IntervalSchedule(expression, parse_timespan(tokens[0]))
        except ValueError as error:
            raise ValueError(
                f"'{expression}' is neither an NCRONTAB expression ({_LAYOUT}, or 5 fields "
                f"without {{second}}) nor a TimeSpan ([d.]hh:mm[:ss]): {error}"
            ) from None
    raise ValueError(
        f"'{expression}' has {len(tokens)} fields; an NCRONTAB expression has 6 ({_LAYOUT}) "
        "or 5 (without {second})"
    )


def parse_cron(expression: str) -> CronSchedule:
    """Parse a six-field NCRONTAB expression, or a five-field one whose second is 0."""
    tokens = [token for token in expression.split(" ") if token]
    if len(tokens) == 5:
        tokens.insert(0, "0")
    elif len(tokens) != 6:
        raise ValueError(
            f"'{expression}' has {len(tokens)} fields; an NCRONTAB expression has 6 "
            f"({_LAYOUT}) or 5 (without {{second}})"
        )
    values: list[tuple[int, ...]] = []
    for field, text in zip(_SIX_FIELDS, tokens, strict=True):
        try:
            values.append(tuple(sorted(_parse_field(field, text))))
        except ValueError as error:
            raise ValueError(
                f"'{expression}': {field.name} field '{text}' is invalid: {error}"
            ) from None
    seconds, minutes, hours, days, months, days_of_week = values
    longest = max(_days_in(month) for month in months)
    if days[0] > longest:
        raise ValueError(
            f"'{expression}' never occurs: no month in month field '{tokens[4]}' has "
            f"day {days[0]} (day field '{tokens[3]}')"
        )
    return CronSchedule(expression, seconds, minutes, hours, days, months, frozenset(days_of_week))


def _days_in(month: int) -> int:
    """The most days the month can have: February counts its leap-year 29th."""
    return 29 if month == _FEBRUARY else calendar.monthrange(2001, month)[1]


def _parse_field(field: _Field, text: str) -> set[int]:
    """One field: a comma list of ``*``, ``n``, ``a-b``, each optionally with ``/step``."""
    chosen: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ValueError("a list item is empty")
        body, slash, step_text = item.partition("/")
        step = 1
        if slash:
            step = _parse_step(step_text)
        if body == "*":
            first, last = field.low, field.high
        elif "-" in body[1:]:
            left, right = body.split("-", 1)
            first, last = _parse_value(field, left), _parse_value(field, right)
            # NCrontab swaps a reversed range rather than wrapping around: 10-5 means 5-10.
            first, last = min(first, last), max(first, last)
        else:
            first = _parse_value(field, body)
            # NCrontab reads "a/n" as "from a to the field's maximum, every n".
            last = field.high if slash else first
        for value in (first, last):
            if value < field.low or value > field.high:
                raise ValueError(
                    f"{value} is out of range: values go from {field.low} to {field.high}"
                    + (" (Sunday is 0; 7 is not accepted)" if field is _DAY_OF_WEEK else "")
                )
        chosen.update(range(first, last + 1, step))
    return chosen


def _parse_step(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f"the step '{text}' is not a whole number")
    # NCrontab treats a step below 1 as 1, so the host accepts */0 as every value.
    return max(1, int(text))


def _parse_value(field: _Field, text: str) -> int:
    if not text:
        raise ValueError("a range bound is empty")
    if text[0] in "0123456789":
        if not (text.isascii() and text.isdigit()):
            raise ValueError(f"'{text}' is not a number")
        return int(text)
    if not field.names:
        raise ValueError(f"'{text}' is not a number from {field.low} to {field.high}")
    # NCrontab accepts any case-insensitive prefix of the English name; the first in
    # calendar order wins, so "Ju" is June and "T" is Tuesday.
    lowered = text.lower()
    for index, name in enumerate(field.names):
        if name.lower().startswith(lowered):
            return field.low + index
    raise ValueError(
        f"'{text}' is not a {field.name} name; use {field.names[0]}..{field.names[-1]} "
        f"or any prefix such as {field.names[0][:3]}"
    )


_TIMESPAN = re.compile(
    r"(?:(?P<days>[0-9]+)\.)?(?P<a>[0-9]+):(?P<b>[0-9]+)(?::(?P<c>[0-9]+)(?:\.(?P<f>[0-9]{1,7}))?)?"
)


def parse_timespan(text: str) -> timedelta:
    """A .NET TimeSpan string as TimeSpan.TryParse reads it: d, [d.]hh:mm, [d.]hh:mm:ss[.f].

    As in .NET, "hh:mm:ss" whose first number is 24 or more means days:hours:minutes, so
    "24:00:00" is every 24 days, not every day.
    """
    text = text.strip()
    if re.fullmatch(r"[0-9]+", text):
        span = timedelta(days=int(text))
    else:
        match = _TIMESPAN.fullmatch(text)
        if match is None:
            raise ValueError(f"'{text}' is not in the form [d.]hh:mm[:ss[.fffffff]]")
        days = int(match["days"] or 0)
        a, b, c = int(match["a"]), int(match["b"]), match["c"]
        fraction = match["f"] or ""
        if c is not None and a >= 24 and match["days"] is None and not fraction:
            days, hours, minutes, seconds = a, b, int(c), 0
        else:
            hours, minutes, seconds = a, b, int(c or 0)
        for value, unit, high in ((hours, "hours", 23), (minutes, "minutes", 59)):
            if value > high:
                raise ValueError(f"{unit} must be 0 to {high}, not {value}")
        if seconds > 59:
            raise ValueError(f"seconds must be 0 to 59, not {seconds}")
        span = timedelta(
            days=days,
            hours=hours,
            minutes=minutes,
            seconds=seconds,
            microseconds=int(fraction.ljust(7, "0")) // 10 if fraction else 0,
        )
    if span <= timedelta(0):
        raise ValueError("the interval must be longer than zero")
    return span


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment} has no time zone; schedules are evaluated in UTC")
    return moment.astimezone(UTC)
