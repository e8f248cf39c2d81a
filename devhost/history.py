"""History events in the PascalCase JSON shape the Durable Python SDK replays."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# The SDK's own enum of history event kinds, under the name devhost has always used.
from azure.durable_functions.models.history.HistoryEventType import (
    HistoryEventType as EventType,
)

__all__ = ["EventType", "event_name", "format_timestamp", "make_event"]


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
