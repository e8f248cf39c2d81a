"""Timer schedules are read in NCRONTAB's own dialect, which is why devhost keeps its parser
(devhost/ncrontab.py) rather than a general cron library: the cron extensions such libraries
accept are refused, as the host refuses them, and NCRONTAB's own readings are kept.

Follows NCrontab/CrontabFieldImpl.cs and CrontabField.cs (NCrontab 3.3.x/3.4.0, the parser
the timer trigger of Microsoft.Azure.WebJobs.Extensions uses): a field is ``*``, numbers,
ranges, lists and ``/step``, or a case-insensitive prefix of an English month or day name;
nothing else. croniter 7.0 (``second_at_beginning=True, day_or=False``) parses six fields with
seconds first but accepts every expression below, reads ``12-10`` as a range that wraps, and
refuses ``*/0`` and name prefixes such as ``Ju``; cronsim 2.8 has no seconds-first form.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from devhost.ncrontab import parse_schedule

EXTENSIONS = [
    ("0 0 0 L * *", "day field 'L' is invalid"),  # last day of the month
    ("0 0 0 LW * *", "day field 'LW' is invalid"),  # last weekday of the month
    ("0 0 0 15W * *", "day field '15W' is invalid"),  # nearest weekday
    ("0 0 0 ? * *", "day field '?' is invalid"),  # Quartz's "no specific value"
    ("0 0 0 * * 5#3", "day-of-week field '5#3' is invalid"),  # third Friday
    ("0 0 0 * * 5L", "day-of-week field '5L' is invalid"),  # last Friday
    ("H * * * * *", "second field 'H' is invalid"),  # Jenkins-style hashed value
    ("0 0 0 * * 7", "day-of-week field '7' is invalid"),  # Sunday as 7
    ("@daily", "is neither an NCRONTAB expression"),  # nicknames
]


@pytest.mark.parametrize(("expression", "message"), EXTENSIONS)
def test_cron_extensions_of_other_dialects_are_refused(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_schedule(expression)


def test_a_reversed_range_is_swapped_not_wrapped() -> None:
    """CrontabField.Accumulate swaps the bounds: 12-10 is 10, 11, 12 (not 12..23 and 0..10)."""
    schedule = parse_schedule("0 0 12-10 * * *")
    after = datetime(2030, 1, 1, 12, 30, tzinfo=UTC)
    assert schedule.next_occurrence(after) == datetime(2030, 1, 2, 10, 0, tzinfo=UTC)
