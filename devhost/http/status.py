"""Instance status JSON as the durable HTTP API returns it, history included on request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from devhost.history import EventType, event_name
from devhost.instance import InstanceState

# DurableTask.Core's OrchestrationStatus, used by ExecutionCompleted events.
ORCHESTRATION_STATUS_NAMES = {
    0: "Running",
    1: "Completed",
    2: "ContinuedAsNew",
    3: "Failed",
    4: "Canceled",
    5: "Terminated",
    6: "Pending",
    7: "Suspended",
}


def api_time(instant: datetime) -> str:
    """The API's timestamp format: UTC, whole seconds, trailing Z (.NET ``ToString("s") + "Z"``)."""
    if instant.tzinfo is not None:
        instant = instant.astimezone(UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_json_text(text: str | None) -> Any:
    """A stored JSON text as a JSON value; like the extension, a non-JSON text stays a string."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return ""
    try:
        return json.loads(text)
    except ValueError:
        return text


def status_payload(
    state: InstanceState,
    show_input: bool = True,
    show_history: bool = False,
    show_history_output: bool = False,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": state.name,
        "instanceId": state.instance_id,
        "runtimeStatus": state.runtime_status,
        "input": parse_json_text(state.input) if show_input else None,
        "customStatus": parse_json_text(state.custom_status),
        "output": parse_json_text(state.output),
        "createdTime": api_time(state.created_time),
        "lastUpdatedTime": api_time(state.last_updated_time),
    }
    if show_history and state.history:
        payload["historyEvents"] = history_payload(state.history, show_history_output, show_input)
    return payload


def history_payload(
    history: list[dict[str, Any]], show_output: bool, show_input: bool
) -> list[dict[str, Any]]:
    """The extension's readable history: names instead of numbers, scheduling events folded into
    their completions (FunctionName, ScheduledTime), replay bookkeeping removed."""
    scheduled: dict[str, tuple[int, dict[str, Any]]] = {}
    folded: set[int] = set()
    shown: list[tuple[int, dict[str, Any]]] = []
    for index, original in enumerate(history):
        event = dict(original)
        kind = EventType(event["EventType"])
        event["EventType"] = event_name(original)
        if kind in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED):
            scheduled[f"{kind.name}_{event.get('EventId')}"] = (index, original)
            event.pop("Version", None)
        elif kind in (EventType.TASK_COMPLETED, EventType.TASK_FAILED):
            _fold(event, scheduled, "TASK_SCHEDULED", folded, show_input)
            _result(event, show_output and kind == EventType.TASK_COMPLETED)
        elif kind in (
            EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
            EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
        ):
            _fold(event, scheduled, "SUB_ORCHESTRATION_INSTANCE_CREATED", folded, show_input)
            _result(event, show_output and kind == EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED)
        elif kind == EventType.EXECUTION_STARTED:
            event["FunctionName"] = event.pop("Name", None)
            for key in ("OrchestrationInstance", "ParentInstance", "Version", "Tags"):
                event.pop(key, None)
        elif kind == EventType.EXECUTION_COMPLETED:
            status = event.get("OrchestrationStatus")
            if isinstance(status, int):
                event["OrchestrationStatus"] = ORCHESTRATION_STATUS_NAMES.get(status, status)
            _result(event, show_output)
        elif kind == EventType.TIMER_FIRED:
            event.pop("TimerId", None)
        elif kind in (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED):
            folded.add(index)
        if not show_input:
            event.pop("Input", None)
        event.pop("EventId", None)
        event.pop("IsPlayed", None)
        shown.append((index, event))
    return [event for index, event in shown if index not in folded]


def _fold(
    event: dict[str, Any],
    scheduled: dict[str, tuple[int, dict[str, Any]]],
    prefix: str,
    folded: set[int],
    show_input: bool,
) -> None:
    found = scheduled.get(f"{prefix}_{event.pop('TaskScheduledId', None)}")
    if found is None:
        return
    index, origin = found
    event["ScheduledTime"] = origin.get("Timestamp")
    event["FunctionName"] = origin.get("Name")
    if show_input:
        event["Input"] = origin.get("Input")
    folded.add(index)


def _result(event: dict[str, Any], show_output: bool) -> None:
    if not show_output:
        event.pop("Result", None)
    elif "Result" in event:
        event["Result"] = parse_json_text(event["Result"])
