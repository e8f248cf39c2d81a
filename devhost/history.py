"""History events in the PascalCase JSON shape the Durable Python SDK replays."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any


class EventType(IntEnum):
    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_INSTANCE_CREATED = 7
    SUB_ORCHESTRATION_INSTANCE_COMPLETED = 8
    SUB_ORCHESTRATION_INSTANCE_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC_EVENT = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


def format_timestamp(instant: datetime) -> str:
    """The exact timestamp format the SDK parses (UTC, microseconds, trailing Z)."""
    return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_event(
    event_type: EventType, at: datetime, event_id: int = -1, **fields: Any
) -> dict[str, Any]:
    return {
        "EventType": int(event_type),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_timestamp(at),
        **fields,
    }


def event_name(event: dict[str, Any]) -> str:
    """The enum name of an event, as the durable HTTP API shows it in status histories."""
    return "".join(part.capitalize() for part in EventType(event["EventType"]).name.split("_"))
