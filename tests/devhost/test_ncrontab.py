"""NCRONTAB and TimeSpan schedules give the occurrences the Functions host would."""

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from devhost.ncrontab import CronSchedule, IntervalSchedule, parse_schedule


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def occurrences(expression: str, after: str, count: int) -> list[str]:
    schedule = parse_schedule(expression)
    found, moment = [], utc(after)
    for _ in range(count):
        moment = schedule.next_occurrence(moment)
        found.append(moment.strftime("%Y-%m-%d %H:%M:%S"))
    return found


# 2030-01-01 is a Tuesday. Expected times alone are on the base day; dates alone are midnight.
OCCURRENCES = [
    ("0 */5 * * * *", "2030-01-01 00:00:00", ["00:05:00", "00:10:00", "00:15:00"]),
    ("0 */5 * * * *", "2030-01-01 00:07:30", ["00:10:00"]),
    ("0 */5 * * * *", "2030-01-01 00:04:59.999", ["00:05:00"]),
    ("0 0 * * * *", "2030-01-01 00:00:00", ["01:00:00", "02:00:00"]),
    ("0 0 */2 * * *", "2030-01-01 00:00:00", ["02:00:00", "04:00:00"]),
    ("0 30 9 * * *", "2030-01-01 10:00:00", ["2030-01-02 09:30:00", "2030-01-03 09:30:00"]),
    ("0 0 9-17 * * *", "2030-01-01 16:30:00", ["17:00:00", "2030-01-02 09:00:00"]),
    ("5,8,10 * * * * *", "2030-01-01 00:00:00", ["00:00:05", "00:00:08", "00:00:10", "00:01:05"]),
    ("0 10-40/15 * * * *", "2030-01-01 00:00:00", ["00:10:00", "00:25:00", "00:40:00", "01:10:00"]),
    # "a/n" runs from a to the field's maximum (NCrontab's own test case).
    ("2/5 * * * * *", "2030-01-01 00:00:50", ["00:00:52", "00:00:57", "00:01:02"]),
    # A reversed range is swapped, not wrapped: 12-10 is 10-12.
    ("0 0 12-10 * * *", "2030-01-01 00:00:00", ["10:00:00", "11:00:00", "12:00:00"]),
    # NCrontab reads a step below 1 as 1.
    ("*/0 * * * * *", "2030-01-01 00:00:00", ["00:00:01", "00:00:02"]),
    ("* * * * * *", "2030-12-31 23:59:59", ["2031-01-01 00:00:00"]),
    # Names: any case-insensitive prefix, the first in calendar order winning.
    ("0 30 9 * Jan Mon", "2030-01-25 00:00:00", ["2030-01-28 09:30:00", "2031-01-06 09:30:00"]),
    ("0 0 0 1 february,AUGU *", "2030-01-01 00:00:00", ["2030-02-01 00:00:00", "2030-08-01"]),
    ("0 0 0 1 Ju *", "2030-01-01 00:00:00", ["2030-06-01 00:00:00"]),
    ("0 0 12 * * Sat,sun", "2030-01-01 00:00:00", ["2030-01-05 12:00:00", "2030-01-06 12:00"]),
    ("0 0 12 * * T", "2030-01-02 00:00:00", ["2030-01-08 12:00:00"]),
    ("0 0 12 * * Mon-Fri", "2030-01-04 13:00:00", ["2030-01-07 12:00:00"]),
    ("0 0 0 * * 0", "2030-01-01 00:00:00", ["2030-01-06 00:00:00", "2030-01-13 00:00:00"]),
    # Month lengths: the 31st skips short months, Feb 29 waits for a leap year.
    ("0 0 0 31 * *", "2030-01-01", ["2030-01-31", "2030-03-31", "2030-05-31", "2030-07-31"]),
    ("0 0 0 30 * *", "2030-01-30 00:00:00", ["2030-03-30 00:00:00"]),
    ("0 0 0 29 2 *", "2030-01-01 00:00:00", ["2032-02-29 00:00:00", "2036-02-29 00:00:00"]),
    ("0 0 0 28-31 Feb *", "2031-02-27 00:00:00", ["2031-02-28", "2032-02-28", "2032-02-29"]),
    # Day and day-of-week must both match (NCrontab ANDs them; Vixie cron would OR them).
    ("0 45 16 1 * Mon", "2003-01-01 12:00:00", ["2003-09-01 16:45:00", "2003-12-01 16:45:00"]),
    ("0 0 0 13 * Fri", "2030-01-01 00:00:00", ["2030-09-13 00:00:00", "2030-12-13 00:00:00"]),
    ("0 0 0 29 Feb Mon", "2030-01-01 00:00:00", ["2044-02-29 00:00:00", "2072-02-29"]),
    # Five fields: no seconds field, seconds are 0.
    ("*/15 * * * *", "2030-01-01 00:00:00", ["00:15:00", "00:30:00"]),
    ("30 9 * * 1-5", "2030-01-04 10:00:00", ["2030-01-07 09:30:00"]),
    (" 0  12 * *  Sun ", "2030-01-01 00:00:00", ["2030-01-06 12:00:00"]),
    # TimeSpan: an interval counted from the previous occurrence.
    ("00:05:00", "2030-01-01 00:00:00", ["00:05:00", "00:10:00"]),
    ("01:00:00", "2030-01-01 00:00:30", ["01:00:30", "02:00:30"]),
    ("12:30", "2030-01-01 00:00:00", ["12:30:00", "2030-01-02 01:00:00"]),
    ("1.00:00:00", "2030-01-01 00:00:00", ["2030-01-02 00:00:00"]),
    ("2", "2030-01-01 00:00:00", ["2030-01-03 00:00:00"]),
    # As in .NET, a first number of 24 or more makes "a:b:c" days:hours:minutes.
    ("24:00:00", "2030-01-01 00:00:00", ["2030-01-25 00:00:00"]),
    ("30:06:15", "2030-01-01 00:00:00", ["2030-01-31 06:15:00"]),
]


@pytest.mark.parametrize(("expression", "after", "expected"), OCCURRENCES)
def test_next_occurrences(expression: str, after: str, expected: list[str]) -> None:
    full = [_in_full(after[:10], text) for text in expected]
    assert occurrences(expression, after, len(expected)) == full


def _in_full(day: str, text: str) -> str:
    """Expected values may give a time alone (on the base day) or a date alone (midnight)."""
    if ":" not in text:
        return f"{text} 00:00:00"
    if "-" not in text:
        return f"{day} {text}"
    return text if text.count(":") == 2 else f"{text}:00"


def test_fractional_timespan_and_sub_second_base() -> None:
    schedule = parse_schedule("00:00:00.5")
    assert schedule.next_occurrence(utc("2030-01-01 00:00:00")) == utc("2030-01-01 00:00:00.5")


def test_results_are_utc_whatever_zone_the_base_is_in() -> None:
    plus_one = timezone(timedelta(hours=1))
    after = datetime(2030, 1, 1, 1, 2, tzinfo=plus_one)
    assert parse_schedule("0 */5 * * * *").next_occurrence(after) == utc("2030-01-01 00:05:00")


def test_naive_base_time_is_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        parse_schedule("0 */5 * * * *").next_occurrence(datetime(2030, 1, 1))


def test_parse_returns_the_kind_of_schedule() -> None:
    cron = parse_schedule("0 0 9-17/4 * * Mon-Fri")
    assert isinstance(cron, CronSchedule)
    assert (cron.seconds, cron.minutes, cron.hours) == ((0,), (0,), (9, 13, 17))
    assert cron.days_of_week == frozenset({1, 2, 3, 4, 5})
    interval = parse_schedule("00:10:00")
    assert isinstance(interval, IntervalSchedule)
    assert interval.interval == timedelta(minutes=10)


INVALID = [
    ("", "'' has 0 fields; an NCRONTAB expression has 6"),
    ("* * * *", "'* * * *' has 4 fields; an NCRONTAB expression has 6"),
    ("0 * * * * * *", "has 7 fields"),
    ("60 * * * * *", "second field '60' is invalid: 60 is out of range: values go from 0 to 59"),
    ("0 5-60 * * * *", "minute field '5-60' is invalid: 60 is out of range"),
    ("0 0 24 * * *", "hour field '24' is invalid: 24 is out of range: values go from 0 to 23"),
    ("0 0 0 0 * *", "day field '0' is invalid: 0 is out of range: values go from 1 to 31"),
    ("0 0 0 32 * *", "day field '32' is invalid: 32 is out of range"),
    ("0 0 0 * 13 *", "month field '13' is invalid: 13 is out of range: values go from 1 to 12"),
    ("0 0 0 * * 7", "day-of-week field '7' is invalid: 7 is out of range: values go from 0 to 6"),
    ("0 0 0 * Foo *", "month field 'Foo' is invalid: 'Foo' is not a month name"),
    ("0 0 0 * * Funday", "day-of-week field 'Funday' is invalid: 'Funday' is not a day-of-week"),
    ("0 0 0 * * Mondays", "'Mondays' is not a day-of-week name"),
    ("0 Mon * * * *", "minute field 'Mon' is invalid: 'Mon' is not a number from 0 to 59"),
    ("0 3-l2 * * * *", "minute field '3-l2' is invalid: 'l2' is not a number from 0 to 59"),
    ("5x * * * * *", "second field '5x' is invalid: '5x' is not a number"),
    ("0 */x * * * *", "minute field '*/x' is invalid: the step 'x' is not a whole number"),
    ("0 1/2/3 * * * *", "the step '2/3' is not a whole number"),
    ("0 1,,2 * * * *", "minute field '1,,2' is invalid: a list item is empty"),
    ("0 5- * * * *", "minute field '5-' is invalid: a range bound is empty"),
    ("0 -5 * * * *", "minute field '-5' is invalid: '-5' is not a number"),
    ("0 0 0 30 Feb *", "'0 0 0 30 Feb *' never occurs: no month in month field 'Feb' has day 30"),
    ("0 0 0 31 Apr,Jun *", "never occurs: no month in month field 'Apr,Jun' has day 31"),
    ("25:00", "is neither an NCRONTAB expression"),
    ("25:00", "nor a TimeSpan ([d.]hh:mm[:ss]): hours must be 0 to 23, not 25"),
    ("00:60:00", "minutes must be 0 to 59, not 60"),
    ("00:00:60", "seconds must be 0 to 59, not 60"),
    ("00:00:00", "the interval must be longer than zero"),
    ("-00:05:00", "'-00:05:00' is not in the form [d.]hh:mm[:ss[.fffffff]]"),
    ("every5min", "'every5min' is not in the form"),
]


@pytest.mark.parametrize(("expression", "message"), INVALID)
def test_invalid_expressions_name_the_problem(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_schedule(expression)


def test_a_rare_date_is_found_without_scanning_seconds() -> None:
    """Feb 29 on a Monday is decades away; the search walks dates, not seconds."""
    schedule = parse_schedule("59 59 23 29 Feb Mon")
    assert schedule.next_occurrence(utc("2044-02-29 23:59:59")) == utc("2072-02-29 23:59:59")
