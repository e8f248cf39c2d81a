"""devhost's speedups for the SDK: timestamps parse as dateutil parses them, and the executor's
namedtuple classes are made once, with the same fields and values."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from dateutil.parser import parse as dateutil_parse
from hypothesis import given
from hypothesis import strategies as st

from devhost.history import format_timestamp
from devhost.http.status import api_time
from devhost.sdk_speedups import install, parse_timestamp

INSTANTS = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@given(INSTANTS)
def test_devhost_timestamps_parse_as_dateutil_parses_them(instant: datetime) -> None:
    text = format_timestamp(instant)
    fast, reference = parse_timestamp(text), dateutil_parse(text)
    assert fast == reference
    assert repr(fast) == repr(reference)  # same fields, same kind of zone


@given(INSTANTS)
def test_status_times_parse_as_dateutil_parses_them(instant: datetime) -> None:
    text = api_time(instant)
    assert repr(parse_timestamp(text)) == repr(dateutil_parse(text))


def test_the_sdks_status_parses_its_times_through_the_replaced_name() -> None:
    assert install()
    from azure.durable_functions.models.DurableOrchestrationStatus import (
        DurableOrchestrationStatus,
    )

    status = DurableOrchestrationStatus(createdTime="2026-11-27T01:02:03Z")
    assert repr(status.created_time) == repr(dateutil_parse("2026-11-27T01:02:03Z"))
    module = sys.modules["azure.durable_functions.models.DurableOrchestrationStatus"]
    assert module.dt_parse is not dateutil_parse


def test_other_texts_go_to_dateutil() -> None:
    for text in ("2026-11-26T17:12:25Z", "2026-11-26 17:12:25+02:00", "Nov 26 2026"):
        assert repr(parse_timestamp(text)) == repr(dateutil_parse(text))


def test_the_sdk_parses_history_timestamps_through_the_replaced_name() -> None:
    """If a new SDK parses elsewhere, install() reports it instead of doing nothing silently."""
    assert install()
    import azure.durable_functions.models.history  # noqa: F401

    module = sys.modules["azure.durable_functions.models.history.HistoryEvent"]
    stamp = format_timestamp(datetime(2026, 1, 2, tzinfo=UTC) + timedelta(microseconds=7))
    event = module.HistoryEvent(EventType=12, EventId=-1, IsPlayed=False, Timestamp=stamp)
    assert event.timestamp == dateutil_parse(stamp)
    assert module.dt_parse is not dateutil_parse


def test_the_sdks_executor_builds_its_namedtuple_once_and_the_same() -> None:
    """Each episode's executor maps completion events to the same payloads as the SDK's own."""
    import collections

    assert install()
    from azure.durable_functions.models.TaskOrchestrationExecutor import TaskOrchestrationExecutor

    first, second = TaskOrchestrationExecutor(), TaskOrchestrationExecutor()
    payloads = first.event_to_SetTaskValuePayload
    assert payloads == second.event_to_SetTaskValuePayload
    assert {type(p) for p in payloads.values()} == {
        type(p) for p in second.event_to_SetTaskValuePayload.values()
    }, "one class for every episode"
    reference = collections.namedtuple("SetTaskValuePayload", ("is_success", "task_id_key"))
    for payload in payloads.values():
        assert payload._fields == reference._fields
        assert tuple(payload) == tuple(reference(*payload))
